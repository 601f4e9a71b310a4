"""The quick passes of text_rules agree with the walks they stand in front of: the bracket count
of JSON text (`may_nest_deeper`) with the depth walk, and `message_text_clean` with the walk
that names a refused string or a JSON value nesting too deeply."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concord_server._gen.concord.v1 import events_pb2, sagas_pb2
from concord_server.api import json_values
from concord_server.api.text_rules import (
    MAX_VALUE_DEPTH,
    check_message_text,
    may_nest_deeper,
    message_text_clean,
    within,
)
from concord_server.errors import ConcordError, ErrorCode

# Text protobuf holds (no lone surrogates), NUL and brackets and quotes included.
TEXT = st.text(st.sampled_from('ab"[]{}\\\x00é'), max_size=4) | st.text(max_size=4)
SCALARS = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | TEXT
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=40,
)
DEEP = st.integers(1, 40).map(lambda depth: "[" * depth + "0" + "]" * depth)


@settings(max_examples=400, deadline=None)
@given(JSON, st.integers(0, 6))
def test_the_bracket_count_agrees_with_the_depth_walk(value: Any, limit: int) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    deeper = not within(value, limit)
    if b"\\" in raw:
        assert may_nest_deeper(raw, limit) or not deeper  # may only err on the safe side
    else:
        assert may_nest_deeper(raw, limit) == deeper, raw


@pytest.mark.parametrize(
    ("raw", "deeper"),
    [
        (b"[" * 101 + b"]" * 101, True),
        (b"[" * 100 + b"]" * 100, False),
        (b'["' + b"[" * 200 + b'"]', False),  # brackets inside a string are text
        (b'[["\\"' + b"[" * 200 + b'"]]', True),  # a backslash: not counted, walked
        (b"[]" * 300, False),
        (b"{" + b'"a":[],' * 150 + b'"b":1}', False),
    ],
)
def test_the_bracket_count_on_known_texts(raw: bytes, deeper: bool) -> None:
    assert may_nest_deeper(raw, 100) == deeper


def refused(message: Any) -> ConcordError | None:
    """The error of the naming walk, None when it passes."""
    try:
        check_message_text(message)
    except ConcordError as err:
        return err
    return None


def append_request(data: Any, metadata: dict[str, str], event_type: str) -> Any:
    request = events_pb2.AppendToStreamRequest(stream="s")
    event = request.events.add(event_id="e", type=event_type, metadata=metadata)
    json_values.value_in(data, event.data)
    return request


@settings(max_examples=400, deadline=None)
@given(JSON | DEEP.map(json.loads), st.dictionaries(TEXT, TEXT, max_size=2), TEXT)
def test_the_quick_pass_agrees_with_the_naming_walk(
    data: Any, metadata: dict[str, str], event_type: str
) -> None:
    request = append_request(data, metadata, event_type)
    error = refused(request)
    assert message_text_clean(request) == (error is None)
    if error is not None:
        assert error.code is ErrorCode.INVALID_ARGUMENT
        assert error.details["reason"] in {"invalid_text", "too_deep"}


@pytest.mark.parametrize(
    ("request_message", "field"),
    [
        (append_request({"k": ["ok", "no\x00"]}, {}, "t"), "events[0].data.k[1]"),
        (append_request({"k\x00": 1}, {}, "t"), "events[0].data.k\x00"),
        (append_request(1, {"m\x00": "v"}, "t"), "events[0].metadata.m\x00"),
        (append_request(1, {"m": "v\x00"}, "t"), "events[0].metadata.m"),
        (append_request(1, {}, "t\x00"), "events[0].type"),
        (
            sagas_pb2.StartSagaRequest(
                saga_id="s",
                definition=sagas_pb2.SagaDefinition(
                    name="d", steps=[{"name": "ok"}, {"name": "\x00"}]
                ),
            ),
            "definition.steps[1].name",
        ),
    ],
)
def test_a_refused_string_is_named_where_it_is(request_message: Any, field: str) -> None:
    assert not message_text_clean(request_message)
    error = refused(request_message)
    assert error is not None and error.details == {"field": field, "reason": "invalid_text"}


def test_a_json_value_one_level_too_deep_is_refused_by_both() -> None:
    fits = json.loads("[" * MAX_VALUE_DEPTH + "]" * MAX_VALUE_DEPTH)
    assert message_text_clean(append_request(fits, {}, "t"))
    too_deep = append_request([fits], {}, "t")
    assert not message_text_clean(too_deep)
    error = refused(too_deep)
    assert error is not None and error.details["reason"] == "too_deep"
