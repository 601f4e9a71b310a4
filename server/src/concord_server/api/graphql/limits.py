"""Query depth and cost of an operation, measured on a validated document before it runs.

Depth: the longest chain of nested fields (a root field alone is depth 1); fragments and inline
fragments add no level of their own. Cost: every selected field counts 1, and every root field
other than `__typename`/`__schema`/`__type` counts ROOT_FIELD_COST, since each one is an RPC call
through the dispatcher. Fragments count each time they are spread (each fragment is measured
once, so a document that multiplies fragments cannot make the measurement itself expensive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

from concord_server.errors import ConcordError, invalid_argument

ROOT_FIELD_COST = 10


@dataclass(frozen=True)
class Measure:
    """How deep and how costly a selection is."""

    depth: int
    cost: int


@dataclass
class _Measurer:
    fragments: dict[str, FragmentDefinitionNode]
    memo: dict[str, Measure] = field(default_factory=dict)

    def selection_set(self, node: SelectionSetNode | None, root: bool = False) -> Measure:
        depth = cost = 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                inner = self.selection_set(selection.selection_set)
                depth = max(depth, inner.depth + 1)
                cost += inner.cost + _field_cost(selection, root)
            elif isinstance(selection, InlineFragmentNode):
                inner = self.selection_set(selection.selection_set, root)
                depth, cost = max(depth, inner.depth), cost + inner.cost
            elif isinstance(selection, FragmentSpreadNode):
                inner = self.fragment(selection.name.value, root)
                depth, cost = max(depth, inner.depth), cost + inner.cost
        return Measure(depth, cost)

    def fragment(self, name: str, root: bool) -> Measure:
        key = f"{name}:{root}"
        if key not in self.memo:
            definition = self.fragments.get(name)
            selections = definition.selection_set if definition is not None else None
            self.memo[key] = self.selection_set(selections, root)
        return self.memo[key]


def _field_cost(node: FieldNode, root: bool) -> int:
    return ROOT_FIELD_COST if root and not node.name.value.startswith("__") else 1


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> Measure:
    """The depth and cost of one operation of a validated document (no fragment cycles)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return _Measurer(fragments).selection_set(operation.selection_set, root=True)


def check_limits(
    document: DocumentNode, operation: OperationDefinitionNode, max_depth: int, max_cost: int
) -> None:
    """INVALID_ARGUMENT when the operation is deeper or costlier than allowed (0: no limit)."""
    found = measure(document, operation)
    if max_depth and found.depth > max_depth:
        raise _too_much("depth", found.depth, max_depth, "query_too_deep")
    if max_cost and found.cost > max_cost:
        raise _too_much("cost", found.cost, max_cost, "query_too_costly")


def _too_much(what: str, found: int, limit: int, reason: str) -> ConcordError:
    return invalid_argument(
        f"the query's {what} is {found}, above the limit of {limit}",
        None,
        reason=reason,
        **{what: found, f"max_{what}": limit},
    )
