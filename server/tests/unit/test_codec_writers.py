"""The compiled JSON writers (`codec._writer`) write every contract message exactly as the loop
over its field plan does, empty and with every field set (test_codec's samples)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from concord_server.api import codec
from tests.unit.test_codec import ALL_MESSAGES, sample


def _loop_writer(message: Message) -> dict[str, Any]:
    """The field plan written by a plain loop (the writer before it was compiled)."""
    out: dict[str, Any] = {}
    for field in codec._plan_out(message.DESCRIPTOR):
        if field.has_presence and not message.HasField(field.name):
            continue
        raw = getattr(message, field.name)
        convert = _loop_writer if field.convert is codec.to_json else field.convert
        if field.shape == codec._MAP:
            out[field.name] = {k: convert(v) if convert else v for k, v in raw.items()}
        elif field.shape == codec._LIST:
            out[field.name] = [convert(v) for v in raw] if convert else list(raw)
        else:
            value = convert(raw) if convert else raw
            if value is not None or not field.is_enum:
                out[field.name] = value
    return out


@pytest.mark.parametrize("desc", ALL_MESSAGES, ids=lambda d: d.full_name)
def test_the_compiled_writer_writes_as_the_loop(desc: Descriptor) -> None:
    empty = GetMessageClass(desc)()
    filled = codec.from_json(sample(desc), GetMessageClass(desc)())
    assert codec.to_json(empty) == _loop_writer(empty)
    assert codec.to_json(filled) == _loop_writer(filled)


def test_a_field_named_like_a_python_keyword_is_read_with_getattr() -> None:
    field = codec._FieldOut("from", False, codec._SCALAR, None, False)
    assert codec._field_lines(field, "c0") == ["    out['from'] = getattr(m, 'from')"]
