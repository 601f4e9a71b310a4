import datetime

from concord_server._gen.concord.v1 import options_pb2 as _options_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExpectedStreamState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EXPECTED_STREAM_STATE_UNSPECIFIED: _ClassVar[ExpectedStreamState]
    EXPECTED_STREAM_STATE_ANY: _ClassVar[ExpectedStreamState]
    EXPECTED_STREAM_STATE_NO_STREAM: _ClassVar[ExpectedStreamState]
    EXPECTED_STREAM_STATE_STREAM_EXISTS: _ClassVar[ExpectedStreamState]

class ReadDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    READ_DIRECTION_UNSPECIFIED: _ClassVar[ReadDirection]
    READ_DIRECTION_FORWARD: _ClassVar[ReadDirection]
    READ_DIRECTION_BACKWARD: _ClassVar[ReadDirection]
EXPECTED_STREAM_STATE_UNSPECIFIED: ExpectedStreamState
EXPECTED_STREAM_STATE_ANY: ExpectedStreamState
EXPECTED_STREAM_STATE_NO_STREAM: ExpectedStreamState
EXPECTED_STREAM_STATE_STREAM_EXISTS: ExpectedStreamState
READ_DIRECTION_UNSPECIFIED: ReadDirection
READ_DIRECTION_FORWARD: ReadDirection
READ_DIRECTION_BACKWARD: ReadDirection

class EventData(_message.Message):
    __slots__ = ("event_id", "type", "data", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    type: str
    data: _struct_pb2.Value
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, event_id: _Optional[str] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RecordedEvent(_message.Message):
    __slots__ = ("event_id", "stream", "revision", "position", "type", "data", "metadata", "recorded_at")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    RECORDED_AT_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    stream: str
    revision: int
    position: int
    type: str
    data: _struct_pb2.Value
    metadata: _containers.ScalarMap[str, str]
    recorded_at: _timestamp_pb2.Timestamp
    def __init__(self, event_id: _Optional[str] = ..., stream: _Optional[str] = ..., revision: _Optional[int] = ..., position: _Optional[int] = ..., type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., recorded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AppendToStreamRequest(_message.Message):
    __slots__ = ("stream", "events", "expected_state", "expected_revision")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_STATE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    stream: str
    events: _containers.RepeatedCompositeFieldContainer[EventData]
    expected_state: ExpectedStreamState
    expected_revision: int
    def __init__(self, stream: _Optional[str] = ..., events: _Optional[_Iterable[_Union[EventData, _Mapping]]] = ..., expected_state: _Optional[_Union[ExpectedStreamState, str]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class AppendToStreamResponse(_message.Message):
    __slots__ = ("next_expected_revision", "position", "revisions")
    NEXT_EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    REVISIONS_FIELD_NUMBER: _ClassVar[int]
    next_expected_revision: int
    position: int
    revisions: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, next_expected_revision: _Optional[int] = ..., position: _Optional[int] = ..., revisions: _Optional[_Iterable[int]] = ...) -> None: ...

class ReadStreamRequest(_message.Message):
    __slots__ = ("stream", "direction", "from_revision", "page_size", "page_token")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    stream: str
    direction: ReadDirection
    from_revision: int
    page_size: int
    page_token: str
    def __init__(self, stream: _Optional[str] = ..., direction: _Optional[_Union[ReadDirection, str]] = ..., from_revision: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ReadStreamResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[RecordedEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[RecordedEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReadAllRequest(_message.Message):
    __slots__ = ("direction", "from_position", "page_size", "page_token")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    direction: ReadDirection
    from_position: int
    page_size: int
    page_token: str
    def __init__(self, direction: _Optional[_Union[ReadDirection, str]] = ..., from_position: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ReadAllResponse(_message.Message):
    __slots__ = ("events", "next_page_token")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[RecordedEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[RecordedEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SubscribeToStreamRequest(_message.Message):
    __slots__ = ("stream", "from_revision")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    FROM_REVISION_FIELD_NUMBER: _ClassVar[int]
    stream: str
    from_revision: int
    def __init__(self, stream: _Optional[str] = ..., from_revision: _Optional[int] = ...) -> None: ...

class SubscribeToStreamResponse(_message.Message):
    __slots__ = ("event", "caught_up")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    event: RecordedEvent
    caught_up: bool
    def __init__(self, event: _Optional[_Union[RecordedEvent, _Mapping]] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class SubscribeToAllRequest(_message.Message):
    __slots__ = ("from_position", "stream_prefix")
    FROM_POSITION_FIELD_NUMBER: _ClassVar[int]
    STREAM_PREFIX_FIELD_NUMBER: _ClassVar[int]
    from_position: int
    stream_prefix: str
    def __init__(self, from_position: _Optional[int] = ..., stream_prefix: _Optional[str] = ...) -> None: ...

class SubscribeToAllResponse(_message.Message):
    __slots__ = ("event", "caught_up")
    EVENT_FIELD_NUMBER: _ClassVar[int]
    CAUGHT_UP_FIELD_NUMBER: _ClassVar[int]
    event: RecordedEvent
    caught_up: bool
    def __init__(self, event: _Optional[_Union[RecordedEvent, _Mapping]] = ..., caught_up: _Optional[bool] = ...) -> None: ...

class StreamMetadata(_message.Message):
    __slots__ = ("stream", "current_revision", "deleted", "custom", "created_at")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CURRENT_REVISION_FIELD_NUMBER: _ClassVar[int]
    DELETED_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    stream: str
    current_revision: int
    deleted: bool
    custom: _struct_pb2.Struct
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, stream: _Optional[str] = ..., current_revision: _Optional[int] = ..., deleted: _Optional[bool] = ..., custom: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetStreamMetadataRequest(_message.Message):
    __slots__ = ("stream",)
    STREAM_FIELD_NUMBER: _ClassVar[int]
    stream: str
    def __init__(self, stream: _Optional[str] = ...) -> None: ...

class GetStreamMetadataResponse(_message.Message):
    __slots__ = ("metadata",)
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: StreamMetadata
    def __init__(self, metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ...) -> None: ...

class SetStreamMetadataRequest(_message.Message):
    __slots__ = ("stream", "custom")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    stream: str
    custom: _struct_pb2.Struct
    def __init__(self, stream: _Optional[str] = ..., custom: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class SetStreamMetadataResponse(_message.Message):
    __slots__ = ("metadata",)
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: StreamMetadata
    def __init__(self, metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ...) -> None: ...

class DeleteStreamRequest(_message.Message):
    __slots__ = ("stream", "expected_revision")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    stream: str
    expected_revision: int
    def __init__(self, stream: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class DeleteStreamResponse(_message.Message):
    __slots__ = ("metadata",)
    METADATA_FIELD_NUMBER: _ClassVar[int]
    metadata: StreamMetadata
    def __init__(self, metadata: _Optional[_Union[StreamMetadata, _Mapping]] = ...) -> None: ...
