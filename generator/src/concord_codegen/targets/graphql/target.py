"""GraphQL target: `spec/graphql/schema.graphql`, the schema the server's `/graphql` serves."""

from __future__ import annotations

from concord_codegen.config import Config
from concord_codegen.render import Renderer
from concord_codegen.targets.base import GeneratedFile, TargetContext
from concord_codegen.targets.graphql.schema import SchemaBuilder

SCHEMA_PATH = "spec/graphql/schema.graphql"


def block(text: str, indent: str = "") -> str:
    """A description: a GraphQL block string at `indent` and a newline ("" for no text)."""
    lines = [line.rstrip() for line in text.strip().replace('"""', '\\"""').splitlines()]
    if not lines:
        return ""
    if len(lines) == 1 and not lines[0].endswith(('"', "\\")):
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line else "" for line in lines)
    return f'{indent}"""\n{body}\n{indent}"""\n'


class GraphqlTarget:
    """Writes the GraphQL schema (SDL) derived from the contract."""

    name = "graphql"

    def outputs(self, config: Config) -> tuple[str, ...]:
        """The one schema file."""
        return (SCHEMA_PATH,)

    def generate(self, context: TargetContext) -> list[GeneratedFile]:
        """Build the schema view and print it with the generated-file header."""
        view = SchemaBuilder(context.api).build()
        renderer = Renderer("graphql")
        renderer.env.filters["block"] = block
        return [renderer.file(SCHEMA_PATH, "schema.graphql.j2", schema=view)]


TARGET = GraphqlTarget()
