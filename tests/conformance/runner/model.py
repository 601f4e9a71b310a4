"""The data model of the suite: cases, steps, expectations, outcomes and results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

ADMIN = "admin"
REQUIRE_TEST_HOOKS = "test_hooks"
REQUIRE_CREDENTIAL_TRAP = "credential_trap"
# Adapter features a case may need; an adapter declares in adapters.yaml the ones it lacks.
FEATURE_HTTP = "http"  # the case checks behaviour only HTTP transports have
FEATURE_HELPERS = "helpers"  # the case calls helper ops (implied by a `helper.` op)
FEATURE_JSON = "json"  # the case sends what only JSON carries (an enum value the contract lacks)
FEATURES = (FEATURE_HTTP, FEATURE_HELPERS, FEATURE_JSON)
REQUIREMENTS = (REQUIRE_TEST_HOOKS, REQUIRE_CREDENTIAL_TRAP, *FEATURES)
HELPER_PREFIX = "helper."
RUNNER_PREFIX = "runner."
# Expectation outcomes: a result, a catalogue error, or an SDK error that is not a catalogue one.
OUTCOME_OK = "ok"
OUTCOME_ERROR = "error"
OUTCOME_CLIENT_ERROR = "client_error"


@dataclass(frozen=True)
class StreamSpec:
    """How much of a server stream to collect: `take` messages or until `timeout_ms`."""

    take: int
    timeout_ms: int

    def to_wire(self) -> dict[str, int]:
        """The `stream` object of a call line."""
        return {"take": self.take, "timeout_ms": self.timeout_ms}


@dataclass(frozen=True)
class Eventually:
    """Repeat a step until its expectation holds, for up to `timeout_ms`."""

    timeout_ms: int
    interval_ms: int


@dataclass(frozen=True)
class Expect:
    """What a step must answer: `ok` with a result, or an `error`."""

    outcome: str  # OUTCOME_OK, OUTCOME_ERROR or OUTCOME_CLIENT_ERROR
    value: Any  # the expected result or error object (may hold matchers); None: anything


@dataclass(frozen=True)
class Step:
    """One call of a case (or the collection of an earlier `async` call)."""

    index: int
    client: str
    op: str
    input: Any
    expect: Expect
    stream: StreamSpec | None = None
    sleep_ms: int = 0
    async_id: str = ""
    await_id: str = ""
    eventually: Eventually | None = None
    note: str = ""

    @property
    def label(self) -> str:
        """A short description for messages: `#2 AcquireLock`."""
        what = f"await {self.await_id}" if self.await_id else self.op
        return f"step {self.index} ({what})"


@dataclass(frozen=True)
class ServerNeeds:
    """What a case needs from the server: extra environment (a dedicated server), test hooks."""

    env: tuple[tuple[str, str], ...] = ()
    test_hooks: bool = False
    credential_trap: bool = False

    @property
    def dedicated(self) -> bool:
        """Whether the case needs a server of its own configuration."""
        return bool(self.env)


@dataclass(frozen=True)
class Case:
    """A named scenario: clients and ordered steps, judged as one test."""

    domain: str
    name: str
    steps: tuple[Step, ...]
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    needs: ServerNeeds = ServerNeeds()
    description: str = ""
    source: str = ""
    skip_on: dict[str, str] = field(default_factory=dict)  # language -> why it does not apply
    features: frozenset[str] = frozenset()  # adapter features the case needs (FEATURES)

    @property
    def case_id(self) -> str:
        """`<domain>/<name>`, the id known-failing patterns and `--cases` match."""
        return f"{self.domain}/{self.name}"

    def ops(self) -> set[str]:
        """The operations the case calls."""
        return {s.op for s in self.steps if s.op}


class Raw(enum.Enum):
    """What happened when a case ran, before the known-failing list is consulted."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # adapter_error or a broken adapter: never a pass
    SKIPPED = "skipped"


class Status(enum.Enum):
    """A case's verdict for one language."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    XFAIL = "XFAIL"
    XPASS = "XPASS"
    SKIP = "SKIP"

    @property
    def bad(self) -> bool:
        """Whether this verdict fails the run."""
        return self in (Status.FAIL, Status.ERROR, Status.XPASS)


@dataclass(frozen=True)
class CaseRun:
    """The raw outcome of one case in one language."""

    case: Case
    raw: Raw
    message: str = ""
    seconds: float = 0.0
    run_id: str = ""
    transcript: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """A case run judged against the language's known-failing list."""

    run: CaseRun
    status: Status
    reason: str = ""  # the known-failing reason, when listed

    @property
    def case_id(self) -> str:
        """The case's id."""
        return self.run.case.case_id


class ConformanceError(Exception):
    """A problem with the suite itself (a bad case file, a missing adapter, a server that fails)."""
