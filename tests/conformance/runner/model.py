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
FEATURE_CALL_OPTIONS = "call_options"  # per-call options (implied by a step's `options`)
FEATURE_CANCEL = "cancel"  # the caller cancels a call (implied by `options.cancel_after_ms`)
FEATURE_SSE = "sse"  # server streams over SSE, resumed after a broken connection
FEATURES = (
    FEATURE_HTTP,
    FEATURE_HELPERS,
    FEATURE_JSON,
    FEATURE_CALL_OPTIONS,
    FEATURE_CANCEL,
    FEATURE_SSE,
)
REQUIREMENTS = (REQUIRE_TEST_HOOKS, REQUIRE_CREDENTIAL_TRAP, *FEATURES)
HELPER_PREFIX = "helper."
RUNNER_PREFIX = "runner."
# Expectation outcomes: a result, a catalogue error, or an SDK error that is not a catalogue one.
OUTCOME_OK = "ok"
OUTCOME_ERROR = "error"
OUTCOME_CLIENT_ERROR = "client_error"
# A client's `language: peer` runs it on the run's peer adapter (cross-language cases).
PEER = "peer"
# Per-call options a step may give (docs/conformance.md, "Per-call options").
CALL_OPTION_KEYS = ("headers", "idempotency_key", "timeout_ms", "max_retries", "cancel_after_ms")


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
class Elapsed:
    """Bounds on how long a call takes, from the runner's request to the adapter's answer."""

    min_ms: int = 0
    max_ms: int | None = None


@dataclass(frozen=True)
class Call:
    """One call of a concurrent group."""

    client: str
    op: str
    input: Any
    options: Any = None
    index: int = 0  # its place in the group: `${i}` in its input and options


@dataclass(frozen=True)
class GroupExpect:
    """What a concurrent group must answer, over all its calls."""

    succeeded: Any = "all"  # how many end `ok`: a number, `all`, or a matcher on the count
    result: Any = None  # every success matches this (None: anything)
    error: Any = None  # every failure is an api_error matching this (None: any failure)
    client_error: Any = None  # ... or a client_error matching this
    distinct: tuple[str, ...] = ()  # dotted paths whose values differ between the successes


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
    options: Any = None  # per-call options (CALL_OPTION_KEYS), `${…}` resolved at call time
    elapsed: Elapsed | None = None
    group: tuple[Call, ...] = ()  # a concurrent group: these calls at once, no `op`
    group_expect: GroupExpect | None = None

    @property
    def label(self) -> str:
        """A short description for messages: `#2 AcquireLock`."""
        if self.group:
            ops = sorted({c.op for c in self.group})
            what = f"group of {len(self.group)}: {', '.join(ops)}"
        else:
            what = f"await {self.await_id}" if self.await_id else self.op
        return f"step {self.index} ({what})"

    def ops(self) -> set[str]:
        """The operations the step calls."""
        return {c.op for c in self.group} if self.group else ({self.op} if self.op else set())


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
    only_on: tuple[tuple[str, ...], str] | None = None  # (languages, why) it applies to alone
    features: frozenset[str] = frozenset()  # adapter features the case needs (FEATURES)

    @property
    def case_id(self) -> str:
        """`<domain>/<name>`, the id known-failing patterns and `--cases` match."""
        return f"{self.domain}/{self.name}"

    def ops(self) -> set[str]:
        """The operations the case calls."""
        return {op for s in self.steps for op in s.ops()}

    @property
    def peer_languages(self) -> set[str]:
        """The languages its clients name (`peer` or an adapters.yaml language)."""
        return {str(c["language"]) for c in self.clients.values() if c.get("language")}


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
