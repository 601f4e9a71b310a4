"""The gRPC transport's pieces without a server: contract JSON <-> protobuf, metadata, client
certificates, and the REST-only install never loading grpc."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

pytest.importorskip("grpc")

from concord._core.grpc_base import _certificate, deadline, metadata
from concord._core.grpc_codec import enum_prefix, to_contract, to_message
from concord._core.options import RequestOptions
from concord._grpc_gen.concord.v1 import events_pb2, locks_pb2
from concord.grpc import GrpcConcord

SRC = Path(__file__).resolve().parents[1] / "src"


def test_request_json_becomes_the_message() -> None:
    data = {
        "stream": "orders",
        "expected_state": "NO_STREAM",
        "expected_revision": 3,
        "events": [{"event_id": "e1", "type": "t", "data": {"n": 1}, "metadata": {"a": "b"}}],
    }
    message = to_message(data, events_pb2.AppendToStreamRequest())
    assert message.expected_state == events_pb2.EXPECTED_STREAM_STATE_NO_STREAM
    assert message.expected_revision == 3
    assert dict(message.events[0].metadata) == {"a": "b"}


def test_an_enum_value_the_contract_lacks_cannot_be_sent() -> None:
    with pytest.raises(ValueError, match="SOMETIMES"):
        to_message({"expected_state": "SOMETIMES"}, events_pb2.AppendToStreamRequest())


def test_answers_read_as_the_rest_api_writes_them() -> None:
    recorded = events_pb2.RecordedEvent(stream="s", revision=2, position=9, type="t")
    recorded.data.struct_value.update({"n": 1, "half": 0.5})
    answer = to_contract(events_pb2.ReadStreamResponse(events=[recorded]))
    event = answer["events"][0]
    assert (event["revision"], event["position"]) == (2, 9)  # int64 as numbers
    assert event["data"] == {"n": 1, "half": 0.5}  # integral numbers as ints
    assert event["metadata"] == {} and "recorded_at" not in event  # unset message left out


def test_zero_and_unknown_enum_values_are_left_out() -> None:
    assert "type" not in to_contract(locks_pb2.WatchLocksResponse())
    unknown = locks_pb2.WatchLocksResponse(type=cast("locks_pb2.LockEventType", 99))
    assert "type" not in to_contract(unknown)
    acquired = locks_pb2.WatchLocksResponse(type=locks_pb2.LOCK_EVENT_TYPE_ACQUIRED)
    assert to_contract(acquired)["type"] == "ACQUIRED"


def test_enum_prefix_follows_the_type_name() -> None:
    assert enum_prefix(events_pb2.ExpectedStreamState.DESCRIPTOR) == "EXPECTED_STREAM_STATE_"


def test_metadata_merges_headers_lower_case_without_http_only_ones() -> None:
    client = GrpcConcord("127.0.0.1:1", api_key="k", extra_headers={"X-A": "1", "Host": "h"})
    options = RequestOptions(extra_headers={"x-a": "2", "Content-Type": "x"})
    with client:
        md = dict(metadata(client, options, "key-1"))
        assert md == {"x-api-key": "k", "idempotency-key": "key-1", "x-a": "2"}
        assert deadline(client, RequestOptions(), stream=False) == 60.0
        assert deadline(client, RequestOptions(), stream=True) is None
        assert deadline(client, RequestOptions(timeout=2.5), stream=True) == 2.5


def test_a_combined_pem_is_split_into_chain_and_key(tmp_path: Path) -> None:
    cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"
    both = tmp_path / "both.pem"
    both.write_text(cert + key)
    assert _certificate(str(both), None) == (cert.encode(), key.encode())
    with pytest.raises(ValueError, match="cannot use the client certificate"):
        _certificate(str(tmp_path / "missing.pem"), None)


def test_the_rest_only_package_does_not_import_grpc() -> None:
    code = (
        "import sys; import concord; c = concord.Concord(api_key='k'); c.close(); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('grpc', 'google')]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(SRC)})


def test_the_grpc_extra_asks_for_the_protobuf_the_stubs_need() -> None:
    stubs = (SRC / "concord/_grpc_gen/concord/v1/common_pb2.py").read_text(encoding="utf-8")
    found = re.search(r"Domain\.PUBLIC,\s*(\d+),\s*(\d+),\s*(\d+),", stubs)
    assert found is not None
    pyproject = (SRC.parent / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"protobuf>={".".join(found.groups())}"' in pyproject
