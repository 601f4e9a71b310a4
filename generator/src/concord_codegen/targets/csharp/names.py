"""C# naming for the C# SDK target: PascalCase members, camelCase parameters, XML doc text."""

from __future__ import annotations

import html
import re

from concord_codegen import naming

# Words spelled specially in .NET names (ETag as in System.Net.Http.Headers; WhoAmI).
SPECIAL_WORDS = {"etag": "ETag", "whoami": "WhoAmI"}
# Contract names that would hide a .NET type inside the generated namespace.
TYPE_RENAMES = {"Task": "SagaTask"}
# Method names where the shared SDK name is not a verb, as .NET names are.
METHOD_RENAMES = {"live": "GetLiveness", "ready": "GetReadiness"}

KEYWORDS = frozenset(
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked",
        "class", "const", "continue", "decimal", "default", "delegate", "do", "double", "else",
        "enum", "event", "explicit", "extern", "false", "finally", "fixed", "float", "for",
        "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params",
        "private", "protected", "public", "readonly", "ref", "return", "sbyte", "sealed",
        "short", "sizeof", "stackalloc", "static", "string", "struct", "switch", "this", "throw",
        "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort", "using",
        "virtual", "void", "volatile", "while",
    }
)  # fmt: skip
# Parameter names the generated methods use themselves.
RESERVED_PARAMETERS = frozenset({"parameters", "options", "cancellationToken", "request"})
_CODE = re.compile(r"`([^`]+)`")


def pascal(name: str) -> str:
    """`key_id` -> `KeyId`, `etag` -> `ETag`, `NO_STREAM` -> `NoStream`."""
    text = "".join(SPECIAL_WORDS.get(w, w.capitalize()) for w in naming.words(name))
    return f"Value{text}" if text[:1].isdigit() else text


def parameter(name: str) -> str:
    """A camelCase parameter name, `@`-escaped when it is a keyword."""
    words = naming.words(name)
    text = words[0] + "".join(SPECIAL_WORDS.get(w, w.capitalize()) for w in words[1:])
    if text in RESERVED_PARAMETERS:
        return f"{text}Value"
    return f"@{text}" if text in KEYWORDS else text


def doc_lines(text: str) -> list[str]:
    """Doc text as XML-escaped lines, `code` spans as <c>code</c>."""
    escaped = html.escape(text.strip(), quote=False)
    return [_CODE.sub(r"<c>\1</c>", line.rstrip()) for line in escaped.splitlines()] or [""]


def summary(text: str, fallback: str) -> list[str]:
    """The lines of a <summary> element: the doc text, else the fallback sentence."""
    return doc_lines(text or fallback)


def xml_summary(lines: list[str], indent: int = 4) -> str:
    """A `/// <summary>` comment of doc lines at `indent` spaces, without a final newline."""
    pad = " " * indent
    if len(lines) == 1:
        return f"{pad}/// <summary>{lines[0]}</summary>"
    body = [f"{pad}///" + (f" {line}" if line else "") for line in lines]
    return "\n".join([f"{pad}/// <summary>", *body, f"{pad}/// </summary>"])
