"""TypeScript naming and text helpers: identifiers, string literals, JSDoc comments."""

from __future__ import annotations

from concord_codegen import naming

# Reserved words of JavaScript/TypeScript and the names generated method bodies use; a path
# parameter never takes one of them.
RESERVED = frozenset(
    {
        "break", "case", "catch", "class", "const", "continue", "debugger", "default", "delete",
        "do", "else", "enum", "export", "extends", "false", "finally", "for", "function", "if",
        "import", "in", "instanceof", "new", "null", "return", "super", "switch", "this",
        "throw", "true", "try", "typeof", "var", "void", "while", "with", "yield", "let",
        "static", "implements", "interface", "package", "private", "protected", "public",
        "await", "any", "boolean", "number", "string", "symbol", "type", "unknown", "never",
        "params", "options", "request", "body", "token", "page", "client", "input", "spec",
    }
)  # fmt: skip


def camel(name: str) -> str:
    """`key_id` -> `keyId`, `batch_get` -> `batchGet`."""
    return naming.camel(name)


def pascal(name: str) -> str:
    """`locks` -> `Locks`, `api_key` -> `ApiKey`."""
    return naming.pascal(name)


def parameter(name: str) -> str:
    """A function parameter name that collides with no reserved word or generated name."""
    candidate = camel(name)
    return f"{candidate}Arg" if candidate in RESERVED else candidate


def literal(text: str) -> str:
    """A single-quoted string literal."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def doc_lines(text: str) -> list[str]:
    """The lines of a doc text, `*/` made harmless, trailing blanks dropped."""
    lines = [line.rstrip().replace("*/", "*\\/") for line in text.strip().splitlines()]
    return lines or [""]


def jsdoc(lines: list[str], indent: str = "") -> str:
    """A JSDoc block (no final newline): `/** one line */`, or one ` * ` line each."""
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */"
    body = "".join(f"{indent} *{' ' + line if line else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */"


def import_line(names: list[str], source: str, type_only: bool = False, width: int = 100) -> str:
    """An import declaration: one line when it fits, else one name a line (as Biome prints it)."""
    if not type_only and all(name.startswith("type ") for name in names):
        names, type_only = [name.removeprefix("type ") for name in names], True
    keyword = "import type" if type_only else "import"
    line = f"{keyword} {{ {', '.join(names)} }} from '{source}';"
    if len(line) <= width:
        return line
    body = "".join(f"  {name},\n" for name in names)
    return f"{keyword} {{\n{body}}} from '{source}';"
