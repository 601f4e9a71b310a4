import datetime

from concord_server._gen.concord.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SagaState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SAGA_STATE_UNSPECIFIED: _ClassVar[SagaState]
    SAGA_STATE_RUNNING: _ClassVar[SagaState]
    SAGA_STATE_COMPENSATING: _ClassVar[SagaState]
    SAGA_STATE_COMPLETED: _ClassVar[SagaState]
    SAGA_STATE_COMPENSATED: _ClassVar[SagaState]
    SAGA_STATE_FAILED: _ClassVar[SagaState]

class StepState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATE_UNSPECIFIED: _ClassVar[StepState]
    STEP_STATE_PENDING: _ClassVar[StepState]
    STEP_STATE_RUNNING: _ClassVar[StepState]
    STEP_STATE_SUCCEEDED: _ClassVar[StepState]
    STEP_STATE_FAILED: _ClassVar[StepState]
    STEP_STATE_COMPENSATING: _ClassVar[StepState]
    STEP_STATE_COMPENSATED: _ClassVar[StepState]
    STEP_STATE_COMPENSATION_FAILED: _ClassVar[StepState]

class StepPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_PHASE_UNSPECIFIED: _ClassVar[StepPhase]
    STEP_PHASE_ACTION: _ClassVar[StepPhase]
    STEP_PHASE_COMPENSATION: _ClassVar[StepPhase]

class StepEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_EVENT_TYPE_UNSPECIFIED: _ClassVar[StepEventType]
    STEP_EVENT_TYPE_STARTED: _ClassVar[StepEventType]
    STEP_EVENT_TYPE_SUCCEEDED: _ClassVar[StepEventType]
    STEP_EVENT_TYPE_FAILED: _ClassVar[StepEventType]
    STEP_EVENT_TYPE_TIMED_OUT: _ClassVar[StepEventType]
    STEP_EVENT_TYPE_RETRY_SCHEDULED: _ClassVar[StepEventType]
SAGA_STATE_UNSPECIFIED: SagaState
SAGA_STATE_RUNNING: SagaState
SAGA_STATE_COMPENSATING: SagaState
SAGA_STATE_COMPLETED: SagaState
SAGA_STATE_COMPENSATED: SagaState
SAGA_STATE_FAILED: SagaState
STEP_STATE_UNSPECIFIED: StepState
STEP_STATE_PENDING: StepState
STEP_STATE_RUNNING: StepState
STEP_STATE_SUCCEEDED: StepState
STEP_STATE_FAILED: StepState
STEP_STATE_COMPENSATING: StepState
STEP_STATE_COMPENSATED: StepState
STEP_STATE_COMPENSATION_FAILED: StepState
STEP_PHASE_UNSPECIFIED: StepPhase
STEP_PHASE_ACTION: StepPhase
STEP_PHASE_COMPENSATION: StepPhase
STEP_EVENT_TYPE_UNSPECIFIED: StepEventType
STEP_EVENT_TYPE_STARTED: StepEventType
STEP_EVENT_TYPE_SUCCEEDED: StepEventType
STEP_EVENT_TYPE_FAILED: StepEventType
STEP_EVENT_TYPE_TIMED_OUT: StepEventType
STEP_EVENT_TYPE_RETRY_SCHEDULED: StepEventType

class RetryPolicy(_message.Message):
    __slots__ = ("max_attempts", "initial_backoff", "max_backoff", "backoff_multiplier", "timeout")
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    INITIAL_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    MAX_BACKOFF_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MULTIPLIER_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    max_attempts: int
    initial_backoff: _duration_pb2.Duration
    max_backoff: _duration_pb2.Duration
    backoff_multiplier: float
    timeout: _duration_pb2.Duration
    def __init__(self, max_attempts: _Optional[int] = ..., initial_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_backoff: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., backoff_multiplier: _Optional[float] = ..., timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HttpCallback(_message.Message):
    __slots__ = ("url", "method", "headers")
    class HeadersEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    URL_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    url: str
    method: str
    headers: _containers.ScalarMap[str, str]
    def __init__(self, url: _Optional[str] = ..., method: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class WorkerTask(_message.Message):
    __slots__ = ("task_type",)
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    task_type: str
    def __init__(self, task_type: _Optional[str] = ...) -> None: ...

class StepAction(_message.Message):
    __slots__ = ("http", "task")
    HTTP_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    http: HttpCallback
    task: WorkerTask
    def __init__(self, http: _Optional[_Union[HttpCallback, _Mapping]] = ..., task: _Optional[_Union[WorkerTask, _Mapping]] = ...) -> None: ...

class StepDefinition(_message.Message):
    __slots__ = ("name", "action", "compensation", "retry")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    COMPENSATION_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    name: str
    action: StepAction
    compensation: StepAction
    retry: RetryPolicy
    def __init__(self, name: _Optional[str] = ..., action: _Optional[_Union[StepAction, _Mapping]] = ..., compensation: _Optional[_Union[StepAction, _Mapping]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ...) -> None: ...

class SagaDefinition(_message.Message):
    __slots__ = ("name", "steps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    steps: _containers.RepeatedCompositeFieldContainer[StepDefinition]
    def __init__(self, name: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepDefinition, _Mapping]]] = ...) -> None: ...

class StepEvent(_message.Message):
    __slots__ = ("at", "phase", "type", "attempt", "message")
    AT_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    phase: StepPhase
    type: StepEventType
    attempt: int
    message: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., phase: _Optional[_Union[StepPhase, str]] = ..., type: _Optional[_Union[StepEventType, str]] = ..., attempt: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...

class SagaStep(_message.Message):
    __slots__ = ("name", "state", "attempts", "compensation_attempts", "output", "error", "history")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    COMPENSATION_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: StepState
    attempts: int
    compensation_attempts: int
    output: _struct_pb2.Value
    error: str
    history: _containers.RepeatedCompositeFieldContainer[StepEvent]
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[StepState, str]] = ..., attempts: _Optional[int] = ..., compensation_attempts: _Optional[int] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[str] = ..., history: _Optional[_Iterable[_Union[StepEvent, _Mapping]]] = ...) -> None: ...

class Saga(_message.Message):
    __slots__ = ("saga_id", "definition", "input", "state", "steps", "error", "cancel_requested", "created_at", "updated_at")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    definition: SagaDefinition
    input: _struct_pb2.Value
    state: SagaState
    steps: _containers.RepeatedCompositeFieldContainer[SagaStep]
    error: str
    cancel_requested: bool
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, saga_id: _Optional[str] = ..., definition: _Optional[_Union[SagaDefinition, _Mapping]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., state: _Optional[_Union[SagaState, str]] = ..., steps: _Optional[_Iterable[_Union[SagaStep, _Mapping]]] = ..., error: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class StartSagaRequest(_message.Message):
    __slots__ = ("saga_id", "definition", "input")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    definition: SagaDefinition
    input: _struct_pb2.Value
    def __init__(self, saga_id: _Optional[str] = ..., definition: _Optional[_Union[SagaDefinition, _Mapping]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class StartSagaResponse(_message.Message):
    __slots__ = ("saga", "created")
    SAGA_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    created: bool
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetSagaRequest(_message.Message):
    __slots__ = ("saga_id",)
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    def __init__(self, saga_id: _Optional[str] = ...) -> None: ...

class GetSagaResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class ListSagasRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: SagaState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[SagaState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSagasResponse(_message.Message):
    __slots__ = ("sagas", "next_page_token")
    SAGAS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sagas: _containers.RepeatedCompositeFieldContainer[Saga]
    next_page_token: str
    def __init__(self, sagas: _Optional[_Iterable[_Union[Saga, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelSagaRequest(_message.Message):
    __slots__ = ("saga_id", "reason")
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    saga_id: str
    reason: str
    def __init__(self, saga_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelSagaResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_id", "saga_id", "step_name", "phase", "task_type", "attempt", "input", "outputs", "worker_id", "lease_expires_at")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    SAGA_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_NAME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    saga_id: str
    step_name: str
    phase: StepPhase
    task_type: str
    attempt: int
    input: _struct_pb2.Value
    outputs: _struct_pb2.Struct
    worker_id: str
    lease_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, task_id: _Optional[str] = ..., saga_id: _Optional[str] = ..., step_name: _Optional[str] = ..., phase: _Optional[_Union[StepPhase, str]] = ..., task_type: _Optional[str] = ..., attempt: _Optional[int] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., outputs: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., worker_id: _Optional[str] = ..., lease_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PollTasksRequest(_message.Message):
    __slots__ = ("worker_id", "task_types", "max_tasks", "visibility_timeout", "wait_timeout")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TASK_TYPES_FIELD_NUMBER: _ClassVar[int]
    MAX_TASKS_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    worker_id: str
    task_types: _containers.RepeatedScalarFieldContainer[str]
    max_tasks: int
    visibility_timeout: _duration_pb2.Duration
    wait_timeout: _duration_pb2.Duration
    def __init__(self, worker_id: _Optional[str] = ..., task_types: _Optional[_Iterable[str]] = ..., max_tasks: _Optional[int] = ..., visibility_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., wait_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class PollTasksResponse(_message.Message):
    __slots__ = ("tasks",)
    TASKS_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ...) -> None: ...

class HeartbeatTaskRequest(_message.Message):
    __slots__ = ("task_id", "worker_id", "visibility_timeout")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    worker_id: str
    visibility_timeout: _duration_pb2.Duration
    def __init__(self, task_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., visibility_timeout: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class HeartbeatTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class CompleteTaskRequest(_message.Message):
    __slots__ = ("task_id", "worker_id", "output")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    worker_id: str
    output: _struct_pb2.Value
    def __init__(self, task_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class CompleteTaskResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...

class FailTaskRequest(_message.Message):
    __slots__ = ("task_id", "worker_id", "error_message", "non_retryable")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    worker_id: str
    error_message: str
    non_retryable: bool
    def __init__(self, task_id: _Optional[str] = ..., worker_id: _Optional[str] = ..., error_message: _Optional[str] = ..., non_retryable: _Optional[bool] = ...) -> None: ...

class FailTaskResponse(_message.Message):
    __slots__ = ("saga",)
    SAGA_FIELD_NUMBER: _ClassVar[int]
    saga: Saga
    def __init__(self, saga: _Optional[_Union[Saga, _Mapping]] = ...) -> None: ...
