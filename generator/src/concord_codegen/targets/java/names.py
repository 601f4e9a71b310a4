"""Java names: classes, members, constants, and Javadoc text."""

from __future__ import annotations

import html

from concord_codegen import naming

# Java keywords and literals, plus the members every generated model or resource declares.
RESERVED = frozenset(
    {
        "abstract",
        "assert",
        "boolean",
        "break",
        "byte",
        "case",
        "catch",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extends",
        "final",
        "finally",
        "float",
        "for",
        "goto",
        "if",
        "implements",
        "import",
        "instanceof",
        "int",
        "interface",
        "long",
        "native",
        "new",
        "package",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "static",
        "strictfp",
        "super",
        "switch",
        "synchronized",
        "this",
        "throw",
        "throws",
        "transient",
        "try",
        "void",
        "volatile",
        "while",
        "true",
        "false",
        "null",
        "var",
        "record",
        "yield",
        "sealed",
        "permits",
        "builder",
        "toBuilder",
        "toJson",
        "fromJson",
        "equals",
        "hashCode",
        "toString",
        "getClass",
        "wait",
        "notify",
        "notifyAll",
        "clone",
        "finalize",
        "async",
        "withRawResponse",
    }
)


def class_name(name: str) -> str:
    """`lock_event` / `LockEvent` -> `LockEvent`."""
    return naming.pascal(name)


def member(name: str) -> str:
    """A method or parameter name: `fencing_token` -> `fencingToken` (`default_` if reserved)."""
    camel = naming.camel(name)
    return f"{camel}_" if camel in RESERVED else camel


def constant(name: str) -> str:
    """An enum constant: the wire name as is (`NO_STREAM`), `_1` for a leading digit."""
    return f"_{name}" if name[:1].isdigit() else name


def javadoc_text(text: str) -> str:
    """Doc text safe inside a Javadoc comment: HTML escaped, `code` spans as {@code}."""
    escaped = html.escape(text, quote=False).replace("*/", "*&#47;").replace("@", "&#64;")
    parts = escaped.split("`")
    out = []
    for i, part in enumerate(parts):
        out.append(f"{{@code {part}}}" if i % 2 and part else part)
    return "".join(out)


def javadoc(text: str, fallback: str) -> list[str]:
    """Doc lines of an item (never empty): its proto comment, else `fallback`."""
    source = (text or fallback).strip()
    lines = [javadoc_text(line.rstrip()) for line in source.splitlines()]
    first = lines[0]
    if first and not first.endswith((".", ":", "!", "?")):
        lines[0] = first + "."
    return lines
