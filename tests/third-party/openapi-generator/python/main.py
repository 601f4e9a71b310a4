"""A user's program on OpenAPI Generator's `python` client: locks, events and a typed error, live."""

from __future__ import annotations

import os
import sys
import uuid

import openapi_client
from openapi_client import (
    AcquireLockBody,
    AppendToStreamBody,
    EventData,
    ReleaseLockBody,
)
from openapi_client.exceptions import ConflictException


def main() -> None:
    """Acquire, conflict, release; append and read back; print what was checked."""
    config = openapi_client.Configuration(host=os.environ["CONCORD_BASE_URL"])
    config.api_key["apiKeyAuth"] = os.environ["CONCORD_API_KEY"]
    suffix = uuid.uuid4().hex[:12]
    with openapi_client.ApiClient(config) as client:
        locks = openapi_client.LockServiceApi(client)
        name = f"tp-python-{suffix}"
        held = locks.acquire_lock(name, AcquireLockBody(owner="alice", ttl="30s")).lock
        assert (
            held is not None
            and held.fencing_token is not None
            and held.fencing_token >= 1
        )
        try:
            locks.acquire_lock(name, AcquireLockBody(owner="bob", ttl="30s"))
            raise AssertionError("a second owner acquired a held lock")
        except ConflictException as error:
            problem = error.data  # the 409 response's declared schema, deserialized
            assert error.status == 409 and isinstance(
                problem, openapi_client.Problem
            ), error
            assert problem.code == openapi_client.ErrorCode.ERROR_CODE_LOCK_CONFLICT, (
                problem
            )
        released = locks.release_lock(
            name, ReleaseLockBody(owner="alice", fencing_token=held.fencing_token)
        )
        assert released is not None
        print(
            f"locks: acquired {name} (token {held.fencing_token}), 409 LOCK_CONFLICT, released"
        )

        events = openapi_client.EventServiceApi(client)
        stream = f"tp-python-{suffix}"
        event = EventData(event_id=str(uuid.uuid4()), type="Tested", data={"n": 1})
        appended = events.append_to_stream(stream, AppendToStreamBody(events=[event]))
        assert appended.revisions == [0], appended
        read = events.read_stream(stream)
        assert [e.type for e in read.events or []] == ["Tested"], read
        print(f"events: appended to {stream} and read it back")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
