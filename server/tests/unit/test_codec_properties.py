"""Property tests of the JSON codec: any JSON text gives a value or INVALID_ARGUMENT, never
another exception (issue 7: deep nesting, lone surrogates and NUL once escaped as 500s)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from google.protobuf import struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from concord_server._gen.concord.v1 import cache_pb2
from concord_server.api import codec, json_values
from concord_server.api.text_rules import MAX_VALUE_DEPTH, bad_text, within
from concord_server.errors import ConcordError, ErrorCode

# Every code point, surrogates and NUL included (Hypothesis leaves surrogates out by default).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=8)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
)
# Text protobuf can hold (the codec refuses lone surrogates before it fills a message), and
# numbers including NaN and the infinities.
TEXT = st.text(max_size=8)
ANY_NUMBERS_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
)
NESTED = st.integers(1, 4000).map(lambda depth: "[" * depth + "0" + "]" * depth)


def depth_of(value: Any) -> int:
    """JSON nesting depth (a scalar is 0)."""
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


def has_bad_text(value: Any) -> bool:
    """Whether a string or key anywhere holds NUL or a lone surrogate."""
    if isinstance(value, str):
        return bad_text(value) is not None
    if isinstance(value, list):
        return any(has_bad_text(v) for v in value)
    if isinstance(value, dict):
        return any(has_bad_text(k) or has_bad_text(v) for k, v in value.items())
    return False


def store_as_cache_value(text: str) -> Any:
    """Parses a SetCacheEntry body holding `text` as its value and returns the value back."""
    body = codec.parse_json(text)
    message = codec.from_json(body, cache_pb2.SetCacheEntryRequest())
    return codec.to_json(message).get("value")


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_any_json_value_is_kept_or_refused_as_invalid_argument(value: Any) -> None:
    text = json.dumps({"namespace": "n", "key": "k", "value": value})
    try:
        back = store_as_cache_value(text)
    except ConcordError as err:
        assert err.code is ErrorCode.INVALID_ARGUMENT
        assert has_bad_text(value) or depth_of(value) > MAX_VALUE_DEPTH, err
        return
    assert not has_bad_text(value)
    assert json.dumps(back, sort_keys=True) == json.dumps(
        codec.integral_numbers(value), sort_keys=True
    )


@settings(max_examples=60, deadline=None)
@given(NESTED)
def test_any_nesting_is_kept_or_refused_as_invalid_argument(nested: str) -> None:
    text = f'{{"namespace": "n", "key": "k", "value": {nested}}}'
    depth = nested.count("[")
    try:
        store_as_cache_value(text)
    except ConcordError as err:
        assert err.code is ErrorCode.INVALID_ARGUMENT
        assert err.details.get("reason") == "too_deep"
        assert depth > MAX_VALUE_DEPTH
        return
    assert depth <= MAX_VALUE_DEPTH


@settings(max_examples=300, deadline=None)
@given(ANY_NUMBERS_JSON, st.integers(1, 5))
def test_the_one_pass_fill_agrees_with_the_check_then_fill(value: Any, limit: int) -> None:
    targets: list[Any] = [struct_pb2.Value()]
    if isinstance(value, dict):
        targets.append(struct_pb2.Struct())
    if isinstance(value, list):
        targets.append(struct_pb2.ListValue())
    for target in targets:
        filled = json_values.filled_within(value, target, limit)
        assert filled == within(value, limit, finite=True)
        if filled:
            expected = type(target)()
            fills: dict[type, Callable[[Any, Any], None]] = {
                struct_pb2.Value: json_values.value_in,
                struct_pb2.Struct: json_values.struct_in,
                struct_pb2.ListValue: json_values.list_in,
            }
            fills[type(target)](value, expected)
            assert target == expected
