"""Limits every request obeys whatever its transport: nesting depth and what a string may hold.

docs/contract.md, "Strings and nesting": strings are Unicode text without NUL (U+0000) and
without lone surrogates, in every field, map key and JSON value; a JSON request document nests
at most MAX_DEPTH levels, and a JSON value (`google.protobuf.Value`/`Struct`) at most
MAX_VALUE_DEPTH, so that every engine can store it and every protobuf reader can parse it back
(protobuf stops at 100 message levels, and each JSON level is two).
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from concord_server.errors import ConcordError, invalid_argument

MAX_DEPTH = 100  # the same bound as protobuf's binary parser
MAX_VALUE_DEPTH = 32
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_VALUE = "google.protobuf.Value"
_STRUCT = "google.protobuf.Struct"
_LIST = "google.protobuf.ListValue"


def bad_text(text: str) -> str | None:
    """Why a string is refused (NUL or a lone surrogate), or None when it is fine."""
    found = _BAD_TEXT.search(text)
    if found is None:
        return None
    return "a NUL character (U+0000)" if found.group() == "\x00" else "a lone surrogate"


def refuse_text(text: str, where: str) -> None:
    """Raises INVALID_ARGUMENT when `text` holds NUL or a lone surrogate."""
    why = bad_text(text)
    if why is not None:
        raise invalid_argument(f"{where} must not contain {why}", where, reason="invalid_text")


def check_document(
    value: Any, raw: bytes | str, where: str, *, path: str | None = None, text: bool = True
) -> None:
    """Refuses a parsed JSON document that nests too deeply (naming `where`) or, when `text`,
    holds refused text (naming the place: `path` and the keys below it, `where` by default; a
    request body whose keys are the message's fields passes `path=""` so that the place is
    named as on gRPC, `events[0].data.k`).

    Cheap for ordinary bodies: the walk runs only when the raw text may nest deeper than
    MAX_DEPTH (`may_nest_deeper`), or has a `\\u` escape (the only way JSON text can carry NUL
    or a lone surrogate).
    """
    encoded = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    check_text = text and b"\\u" in encoded
    if check_text or may_nest_deeper(encoded, MAX_DEPTH):
        _walk(value, where, check_text=check_text, path=path)


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_PAIRS = bytes.maketrans(b"[]{}", b"()()")


def may_nest_deeper(raw: bytes, limit: int) -> bool:
    """Whether well-formed JSON text may nest deeper than `limit`. Exact when the text has no
    backslash (every quote then delimits a string, so the brackets left outside the strings
    are its structure): each pass removes the innermost pairs, one level; True otherwise."""
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b"\\" in raw:
        return True
    brackets = b"".join(raw.split(b'"')[::2]).translate(_PAIRS, _NOT_BRACKETS)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"()", b"")
    return bool(brackets)


def too_deep(where: str, limit: int) -> ConcordError:
    """The INVALID_ARGUMENT of a value nesting deeper than `limit` levels."""
    return invalid_argument(f"{where} nests deeper than {limit} levels", where, reason="too_deep")


def check_value_depth(value: Any, where: str) -> None:
    """Refuses a JSON value (for a Value/Struct field) nesting deeper than MAX_VALUE_DEPTH."""
    if isinstance(value, dict | list):
        _walk(value, where, check_text=False, limit=MAX_VALUE_DEPTH)


def _walk(
    root: Any, where: str, *, check_text: bool, limit: int = MAX_DEPTH, path: str | None = None
) -> None:
    """Iterative (never recursive) depth and text check of a JSON-like value: a quick pass
    first, and the pass that names the offending place only when there is one."""
    if not within(root, limit, check_text=check_text):
        _refuse(root, where, where if path is None else path, check_text=check_text, limit=limit)


def within(root: Any, limit: int, *, check_text: bool = False, finite: bool = False) -> bool:
    """Whether a JSON-like value nests at most `limit` levels and, as asked, holds no refused
    text and only finite numbers. One iterative pass that builds no paths."""
    bad = _BAD_TEXT.search
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if check_text and any(bad(key) for key in value):
                return False
            items: Any = value.values()
        elif isinstance(value, list):
            items = value
        elif isinstance(value, str):
            if check_text and bad(value):
                return False
            continue
        elif isinstance(value, float):
            if finite and not math.isfinite(value):
                return False
            continue
        else:
            continue
        if depth > limit:
            return False
        for item in items:
            if isinstance(item, dict | list):
                stack.append((item, depth + 1))
            elif isinstance(item, str):
                if check_text and bad(item):
                    return False
            elif finite and isinstance(item, float) and not math.isfinite(item):
                return False
    return True


def _refuse(root: Any, where: str, root_path: str, *, check_text: bool, limit: int) -> None:
    """Raises INVALID_ARGUMENT naming the first place that nests too deeply (`where`) or holds
    refused text (its path below `root_path`), in the same walk order as ever."""
    stack: list[tuple[Any, int, str]] = [(root, 1, root_path)]
    while stack:
        value, depth, path = stack.pop()
        if isinstance(value, str):
            if check_text:
                refuse_text(value, path or where)
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > limit:
            raise too_deep(where, limit)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            inner = (f"{path}.{key}" if path else key) if isinstance(key, str) else f"{path}[{key}]"
            if check_text and isinstance(key, str):
                refuse_text(key, inner)
            stack.append((item, depth + 1, inner))


def check_message_text(message: Message, path: str = "") -> None:
    """Refuses NUL and lone surrogates in a message's strings, map keys and JSON values, and
    JSON values nesting deeper than MAX_VALUE_DEPTH: a quick pass first, and the pass that
    names the offending place only when there is one."""
    if not message_text_clean(message):
        _refuse_message_text(message, path)


def _refuse_message_text(message: Message, path: str) -> None:
    """Raises INVALID_ARGUMENT naming the first refused string or too deep JSON value."""
    for field, value in message.ListFields():
        where = f"{path}.{field.name}" if path else field.name
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _check_map(field, value, where)
        elif field.is_repeated:
            for i, item in enumerate(value):
                _check_field_value(field, item, f"{where}[{i}]")
        else:
            _check_field_value(field, value, where)


def _check_map(field: Any, entries: Any, where: str) -> None:
    value_field = field.message_type.fields_by_name["value"]
    for key, item in entries.items():
        if isinstance(key, str):
            refuse_text(key, f"{where}.{key}")
        _check_field_value(value_field, item, f"{where}.{key}")


def _check_field_value(field: Any, value: Any, where: str) -> None:
    if field.type == FieldDescriptor.TYPE_STRING:
        refuse_text(value, where)
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name in (_VALUE, _STRUCT, _LIST):
            _check_json_message(value, where)
        elif not name.startswith("google.protobuf."):
            _refuse_message_text(value, where)


def _check_json_message(root: Message, where: str) -> None:
    """Text and depth of a Value/Struct/ListValue tree, iteratively."""
    stack: list[tuple[Message, str, int]] = [(root, where, 0)]
    while stack:
        node, path, depth = stack.pop()
        container = isinstance(node, struct_pb2.Struct | struct_pb2.ListValue)
        if container and depth + 1 > MAX_VALUE_DEPTH:
            raise too_deep(where, MAX_VALUE_DEPTH)
        if isinstance(node, struct_pb2.Struct):
            for key, item in node.fields.items():
                refuse_text(key, f"{path}.{key}")
                stack.append((item, f"{path}.{key}", depth + 1))
        elif isinstance(node, struct_pb2.ListValue):
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(node.values))
        elif isinstance(node, struct_pb2.Value):
            kind = node.WhichOneof("kind")
            if kind == "string_value":
                refuse_text(node.string_value, path)
            elif kind in ("struct_value", "list_value"):
                stack.append((getattr(node, kind), path, depth))


# The quick pass: what `_refuse_message_text` checks, as one boolean, building no paths.
_SKIP, _TEXT, _JSON, _MESSAGE = range(4)


@functools.cache
def _text_kind(field: FieldDescriptor) -> int:
    """How the quick pass checks values of this field (or of a map's value field)."""
    if field.type == FieldDescriptor.TYPE_STRING:
        return _TEXT
    if field.type != FieldDescriptor.TYPE_MESSAGE or field.message_type is None:
        return _SKIP
    name = field.message_type.full_name
    if name in (_VALUE, _STRUCT, _LIST):
        return _JSON
    return _SKIP if name.startswith("google.protobuf.") else _MESSAGE


@functools.cache
def _text_plan(field: FieldDescriptor) -> tuple[bool, bool, int]:
    """Whether a field is a map, whether its keys are strings, and how its values are checked."""
    entry = field.message_type
    if entry is not None and entry.GetOptions().map_entry:
        string_keys = entry.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING
        return True, string_keys, _text_kind(entry.fields_by_name["value"])
    return False, False, _text_kind(field)


def message_text_clean(message: Message) -> bool:
    """Whether no string, map key or JSON value of a message is refused, nor too deep."""
    bad = _BAD_TEXT.search
    for field, value in message.ListFields():
        is_map, string_keys, kind = _text_plan(field)
        if is_map:
            if string_keys and any(map(bad, value)):
                return False
            items: Any = value.values()
        else:
            items = value if field.is_repeated else (value,)
        if kind == _TEXT:
            if any(map(bad, items)):
                return False
        elif kind == _JSON:
            if not all(map(_json_clean, items)):
                return False
        elif kind == _MESSAGE and not all(map(message_text_clean, items)):
            return False
    return True


def _json_clean(root: Message) -> bool:
    """Whether a Value/Struct/ListValue tree holds no refused text and nests at most
    MAX_VALUE_DEPTH containers, iteratively."""
    bad = _BAD_TEXT.search
    stack: list[tuple[Any, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, struct_pb2.Value):
            kind = node.WhichOneof("kind")
            if kind == "string_value":
                if bad(node.string_value):
                    return False
                continue
            if kind not in ("struct_value", "list_value"):
                continue
            node = getattr(node, kind)
        depth += 1
        if depth > MAX_VALUE_DEPTH:
            return False
        if isinstance(node, struct_pb2.Struct):
            fields = node.fields
            if any(map(bad, fields)):
                return False
            stack.extend((item, depth) for item in fields.values())
        else:
            stack.extend((item, depth) for item in node.values)
    return True
