"""Domain metrics (Prometheus): locks, sagas, events, cache, discovery, idempotency, rate
limits, storage calls and stream connections. Label values come from small fixed sets (never a
lock, stream, saga or key name), so the number of series stays bounded."""

from __future__ import annotations

from concord_server.ports.sagas import TERMINAL_STATES, SagaRecord, SagaState, StepEventType
from concord_server.telemetry.loop_metrics import Counter, Gauge, Histogram

# Sub-millisecond (an in-memory store) to seconds (a waiting acquire, a slow engine).
BUCKETS = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
)

RPC_DURATION = Histogram(
    "concord_rpc_duration_seconds",
    "Unary RPC latency from admission to answer, every transport",
    ["rpc"],
    buckets=BUCKETS,
)

# ---------------------------------------------------------------- locks
LOCK_GRANTS = Counter("concord_lock_grants_total", "Lock grants", ["waited"])
LOCK_CONFLICTS = Counter("concord_lock_conflicts_total", "Acquires refused with LOCK_CONFLICT")
LOCK_WAITS = Counter("concord_lock_waits_total", "Acquires that waited in line for a held lock")
LOCK_WAIT_SECONDS = Histogram(
    "concord_lock_wait_seconds", "Time acquires spent waiting in line", buckets=BUCKETS
)
LOCK_WAITERS = Gauge("concord_lock_waiters", "Acquires waiting in line now, in this instance")
LOCK_EXPIRIES = Counter(
    "concord_lock_expiries_total", "Grants that ran out without a release (found by the sweep)"
)
LOCKS_HELD = Gauge("concord_locks_held", "Locks held now (sampled from the lock store)")

# ---------------------------------------------------------------- sagas
SAGA_STARTS = Counter("concord_saga_starts_total", "Sagas started")
SAGA_FINISHED = Counter(
    "concord_saga_finished_total", "Sagas that ended, by final state", ["state"]
)
SAGA_COMPENSATIONS = Counter(
    "concord_saga_compensations_total", "Sagas that began compensating (a step failed, or cancel)"
)
SAGA_STEP_RETRIES = Counter(
    "concord_saga_step_retries_total",
    "Step attempts that failed and were scheduled again",
    ["phase"],
)
SAGA_HTTP_STEP_SECONDS = Histogram(
    "concord_saga_http_step_seconds",
    "Duration of HTTP step calls, by outcome",
    ["outcome"],
    buckets=BUCKETS,
)
SAGAS = Gauge("concord_sagas", "Sagas not yet ended, by state (sampled from the store)", ["state"])
SAGAS_STUCK = Gauge(
    "concord_sagas_stuck",
    "Sagas due for over a minute that no runner has claimed (sampled; counted up to 1000)",
)

# ---------------------------------------------------------------- events
EVENT_APPENDS = Counter("concord_event_appends_total", "Append batches stored")
EVENTS_APPENDED = Counter("concord_events_appended_total", "Events stored by appends")
EVENT_APPEND_SECONDS = Histogram(
    "concord_event_append_seconds", "Latency of storing one append batch", buckets=BUCKETS
)
EVENT_SUBSCRIPTIONS = Gauge(
    "concord_event_subscriptions", "Open event subscriptions, by scope", ["scope"]
)
EVENT_SUBSCRIPTION_LAG = Histogram(
    "concord_event_subscription_lag_seconds",
    "Time from an append to its delivery to a live subscriber",
    buckets=BUCKETS,
)

# ---------------------------------------------------------------- cache, discovery
CACHE_LOOKUPS = Counter("concord_cache_lookups_total", "Cache key lookups, by result", ["result"])
CACHE_EVICTIONS = Counter(
    "concord_cache_evictions_total", "Cache entries removed because their TTL ran out"
)
DISCOVERY_INSTANCES = Gauge(
    "concord_discovery_instances", "Live registered instances, by health (sampled)", ["health"]
)

# ---------------------------------------------------------------- cross-cutting
IDEMPOTENT_REPLAYS = Counter(
    "concord_idempotent_replays_total", "Calls answered from the idempotency store"
)
RATE_LIMITED = Counter(
    "concord_rate_limited_total", "Calls refused by the per-credential rate limit"
)
STORAGE_SECONDS = Histogram(
    "concord_storage_call_seconds",
    "Latency of storage calls, by engine, capability and operation",
    ["engine", "capability", "operation"],
    buckets=BUCKETS,
)
STORAGE_ERRORS = Counter(
    "concord_storage_errors_total",
    "Storage calls that failed, by engine, capability and catalogue code",
    ["engine", "capability", "code"],
)
COMPONENT_UP = Gauge(
    "concord_component_up",
    "1 when a component's storage answered its last check, 0 when it did not",
    ["component", "backend"],
)
STREAM_CONNECTIONS = Gauge(
    "concord_stream_connections",
    "Open streaming connections: WebSocket, GraphQL over WebSocket, Server-Sent Events",
    ["transport"],
)


def _initialise() -> None:
    """Creates the series of every fixed label value, so that rates and sums start at 0."""
    for waited in ("true", "false"):
        LOCK_GRANTS.labels(waited)
    for state in ("COMPLETED", "COMPENSATED", "FAILED"):
        SAGA_FINISHED.labels(state)
    for state in ("RUNNING", "COMPENSATING"):
        SAGAS.labels(state)
    for phase in ("ACTION", "COMPENSATION"):
        SAGA_STEP_RETRIES.labels(phase)
    for outcome in ("ok", "failed", "timeout"):
        SAGA_HTTP_STEP_SECONDS.labels(outcome)
    for scope in ("all", "stream"):
        EVENT_SUBSCRIPTIONS.labels(scope)
    for result in ("hit", "miss"):
        CACHE_LOOKUPS.labels(result)
    for health in ("HEALTHY", "UNHEALTHY"):
        DISCOVERY_INSTANCES.labels(health)
    for transport in ("ws", "graphql-ws", "sse"):
        STREAM_CONNECTIONS.labels(transport)


_initialise()


def count_saga_change(before: SagaRecord | None, after: SagaRecord) -> None:
    """Counts what one saved saga transition did: start, compensation, end, step retries."""
    if before is None:
        SAGA_STARTS.inc()
        return
    if after.state is not before.state:
        if after.state is SagaState.COMPENSATING:
            SAGA_COMPENSATIONS.inc()
        elif after.state in TERMINAL_STATES:
            SAGA_FINISHED.labels(after.state.value).inc()
    for old, new in zip(before.steps, after.steps, strict=False):
        for event in new.history[len(old.history) :]:
            if event.type is StepEventType.RETRY_SCHEDULED:
                SAGA_STEP_RETRIES.labels(event.phase.value).inc()
