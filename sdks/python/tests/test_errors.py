"""Error mapping: a typed exception per catalogue code, with status, code, details, request id."""

from __future__ import annotations

import httpx
import pytest

import concord
from concord import (
    ConcordAPIError,
    ConcordError,
    InternalError,
    LockConflictError,
    NotFoundError,
    UnauthenticatedError,
)
from concord.errors import ERRORS
from tests.helpers import Recorder, error


@pytest.mark.parametrize("code", sorted(ERRORS.by_code))
def test_every_catalogue_code_has_its_exception(code: str) -> None:
    cls = ERRORS.by_code[code]
    rec = Recorder(error(cls.http_status, code, "nope", **{"X-Request-ID": "hdr"}))
    with pytest.raises(cls) as caught:
        rec.client(max_retries=0).locks.get("jobs")
    err = caught.value
    assert isinstance(err, ConcordAPIError) and isinstance(err, ConcordError)
    assert (err.status, err.code, err.message) == (cls.http_status, code, "nope")
    assert err.details == {"k": "v"} and err.request_id == "req-1"
    assert err.response is not None and err.response.status_code == cls.http_status
    assert cls.__name__ == "".join(w.capitalize() for w in code.split("_")) + "Error"
    assert getattr(concord, cls.__name__) is cls


def test_lock_conflict_fields() -> None:
    rec = Recorder(error(409, "LOCK_CONFLICT"))
    with pytest.raises(LockConflictError) as caught:
        rec.client().locks.get("jobs")
    assert str(caught.value) == "LOCK_CONFLICT [409]: boom (request_id=req-1)"


def test_unknown_code_falls_back_to_the_status_class() -> None:
    rec = Recorder(error(404, "SOMETHING_NEW"))
    with pytest.raises(NotFoundError) as caught:
        rec.client().locks.get("jobs")
    assert caught.value.code == "SOMETHING_NEW"


def test_ambiguous_status_without_body_is_the_base_class() -> None:
    rec = Recorder(httpx.Response(409, text="conflict", headers={"X-Request-ID": "r9"}))
    with pytest.raises(ConcordAPIError) as caught:
        rec.client().locks.get("jobs")
    assert type(caught.value) is ConcordAPIError
    assert (caught.value.code, caught.value.request_id) == ("HTTP_409", "r9")


def test_status_only_answer_gets_the_catalogue_code() -> None:
    rec = Recorder(httpx.Response(401))
    with pytest.raises(UnauthenticatedError) as caught:
        rec.client().locks.get("jobs")
    assert caught.value.code == "UNAUTHENTICATED"


def test_gateway_errors_after_retries() -> None:
    rec = Recorder(httpx.Response(502, text="bad gateway"))
    with pytest.raises(ConcordAPIError) as caught:
        rec.client(max_retries=1).locks.get("jobs")
    assert caught.value.status == 502 and not isinstance(caught.value, InternalError)


def test_registry_maps_unique_statuses_only() -> None:
    assert ERRORS.by_status[404] is NotFoundError
    assert 409 not in ERRORS.by_status
