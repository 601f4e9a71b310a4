"""One pipeline for every GraphQL request, over HTTP or WebSocket: read, parse, validate, limit,
then execute or subscribe with graphql-core."""

from __future__ import annotations

import inspect
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    subscribe,
    validate,
)

from concord_server.api.graphql.errors import format_error, plain_error
from concord_server.api.graphql.limits import check_limits
from concord_server.api.graphql.resolvers import GraphQLContext
from concord_server.config import Settings
from concord_server.errors import ConcordError, invalid_argument

MAX_TOKENS = 100_000  # a document's tokens; bounds parsing work whatever the body limit
MAX_ERRORS = 50
CACHED_DOCUMENTS = 256  # valid documents kept parsed, by their text
CACHED_QUERY_CHARS = 20_000  # longer texts are not kept


class DocumentError(Exception):
    """The document cannot run (syntax, validation, limits): the formatted errors."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors


@dataclass(frozen=True)
class GraphQLRequest:
    """The members of a GraphQL request (GraphQL over HTTP): query, operation, variables."""

    query: str
    operation_name: str | None = None
    variables: dict[str, Any] | None = None


def without_variables(payload: Any) -> Any:
    """A GraphQL request object less its `variables`, for the checks of the whole text: the
    variables are checked field by field where they land (as REST and gRPC name them)."""
    if isinstance(payload, dict) and "variables" in payload:
        return {key: value for key, value in payload.items() if key != "variables"}
    return payload


def request_of(payload: Any) -> GraphQLRequest:
    """A request from its JSON object; INVALID_ARGUMENT when a member has the wrong type."""
    if not isinstance(payload, dict):
        raise invalid_argument("a GraphQL request is a JSON object", "body")
    query, name = payload.get("query"), payload.get("operationName")
    variables, extensions = payload.get("variables"), payload.get("extensions")
    if not isinstance(query, str) or not query.strip():
        raise invalid_argument("`query` must be a non-empty string", "query")
    if name is not None and not isinstance(name, str):
        raise invalid_argument("`operationName` must be a string or null", "operationName")
    if variables is not None and not isinstance(variables, dict):
        raise invalid_argument("`variables` must be a JSON object or null", "variables")
    if extensions is not None and not isinstance(extensions, dict):
        raise invalid_argument("`extensions` must be a JSON object or null", "extensions")
    return GraphQLRequest(query, name or None, variables)


@dataclass(frozen=True)
class Prepared:
    """A parsed, validated operation within its limits, ready to run."""

    document: DocumentNode
    operation: OperationDefinitionNode
    request: GraphQLRequest

    @property
    def kind(self) -> OperationType:
        """query, mutation or subscription."""
        return self.operation.operation

    def root_fields(self) -> list[str]:
        """The operation's root fields (through fragments), `__typename` left out."""
        fragments = {
            d.name.value: d
            for d in self.document.definitions
            if isinstance(d, FragmentDefinitionNode)
        }
        return _fields(self.operation.selection_set, fragments)


def _fields(node: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    found: list[str] = []
    for selection in node.selections:
        if isinstance(selection, FieldNode) and selection.name.value != "__typename":
            found.append(selection.name.value)
        elif isinstance(selection, InlineFragmentNode):
            found += _fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                found += _fields(fragment.selection_set, fragments)
    return found


class Engine:
    """The executable schema with this server's validation rules and limits."""

    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.introspection = settings.graphql_introspection
        self.rules = [*specified_rules]
        if not self.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self.max_depth = settings.graphql_max_depth
        self.max_cost = settings.graphql_max_cost
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()  # LRU of valid ones

    def prepare(self, request: GraphQLRequest, request_id: str) -> Prepared:
        """Parses, validates and measures the request's operation; DocumentError otherwise."""
        document = self._valid_document(request.query, request_id)
        operation = get_operation_ast(document, request.operation_name)
        try:
            if operation is None:
                raise _no_operation(request.operation_name)
            check_limits(document, operation, self.max_depth, self.max_cost)
        except ConcordError as err:
            raise DocumentError([plain_error(err, request_id)]) from err
        return Prepared(document, operation, request)

    def _valid_document(self, query: str, request_id: str) -> DocumentNode:
        """The parsed and validated document, from the cache when the same text came before
        (clients send the same few documents again and again; validation is the costly part)."""
        document = self._documents.get(query)
        if document is not None:
            self._documents.move_to_end(query)
            return document
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
            errors = validate(self.schema, document, self.rules, max_errors=MAX_ERRORS)
        except GraphQLError as error:
            raise DocumentError([format_error(error, request_id)]) from error
        except RecursionError as exc:
            failure = invalid_argument("the query nests too deeply", "query", reason="too_deep")
            raise DocumentError([plain_error(failure, request_id)]) from exc
        if errors:
            raise DocumentError([format_error(e, request_id) for e in errors])
        if len(query) <= CACHED_QUERY_CHARS:
            self._documents[query] = document
            if len(self._documents) > CACHED_DOCUMENTS:
                self._documents.popitem(last=False)
        return document

    async def execute(self, prepared: Prepared, gctx: GraphQLContext) -> ExecutionResult:
        """Runs a query or mutation; variable errors come back as a result without data."""
        result = execute(
            self.schema,
            prepared.document,
            context_value=gctx,
            variable_values=prepared.request.variables,
            operation_name=prepared.request.operation_name,
        )
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result

    async def subscribe(
        self, prepared: Prepared, gctx: GraphQLContext
    ) -> AsyncIterator[ExecutionResult] | ExecutionResult:
        """Opens a subscription: a stream of results, or one result with the errors."""
        outcome = subscribe(
            self.schema,
            prepared.document,
            context_value=gctx,
            variable_values=prepared.request.variables,
            operation_name=prepared.request.operation_name,
        )
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome


def _no_operation(name: str | None) -> ConcordError:
    if name:
        return invalid_argument(f"the document has no operation named {name!r}", "operationName")
    return invalid_argument(
        "the document has several operations: name one in `operationName`", "operationName"
    )


def response_body(result: ExecutionResult, request_id: str) -> dict[str, Any]:
    """The JSON response of a result: `data` (when execution started) and `errors`."""
    body: dict[str, Any] = {}
    if result.errors:
        body["errors"] = [format_error(e, request_id) for e in result.errors]
    if result.data is not None or not result.errors:
        body["data"] = result.data
    return body
