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

class CacheEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_EVENT_TYPE_UNSPECIFIED: _ClassVar[CacheEventType]
    CACHE_EVENT_TYPE_SET: _ClassVar[CacheEventType]
    CACHE_EVENT_TYPE_DELETED: _ClassVar[CacheEventType]
    CACHE_EVENT_TYPE_EXPIRED: _ClassVar[CacheEventType]
CACHE_EVENT_TYPE_UNSPECIFIED: CacheEventType
CACHE_EVENT_TYPE_SET: CacheEventType
CACHE_EVENT_TYPE_DELETED: CacheEventType
CACHE_EVENT_TYPE_EXPIRED: CacheEventType

class CacheEntry(_message.Message):
    __slots__ = ("namespace", "key", "value", "etag", "expires_at", "updated_at")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    key: str
    value: _struct_pb2.Value
    etag: str
    expires_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    def __init__(self, namespace: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., etag: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetCacheEntryRequest(_message.Message):
    __slots__ = ("namespace", "key")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    key: str
    def __init__(self, namespace: _Optional[str] = ..., key: _Optional[str] = ...) -> None: ...

class GetCacheEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: CacheEntry
    def __init__(self, entry: _Optional[_Union[CacheEntry, _Mapping]] = ...) -> None: ...

class SetCacheEntryRequest(_message.Message):
    __slots__ = ("namespace", "key", "value", "ttl", "if_match", "create_only")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    CREATE_ONLY_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    key: str
    value: _struct_pb2.Value
    ttl: _duration_pb2.Duration
    if_match: str
    create_only: bool
    def __init__(self, namespace: _Optional[str] = ..., key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., if_match: _Optional[str] = ..., create_only: _Optional[bool] = ...) -> None: ...

class SetCacheEntryResponse(_message.Message):
    __slots__ = ("entry",)
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    entry: CacheEntry
    def __init__(self, entry: _Optional[_Union[CacheEntry, _Mapping]] = ...) -> None: ...

class DeleteCacheEntryRequest(_message.Message):
    __slots__ = ("namespace", "key", "if_match")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    IF_MATCH_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    key: str
    if_match: str
    def __init__(self, namespace: _Optional[str] = ..., key: _Optional[str] = ..., if_match: _Optional[str] = ...) -> None: ...

class DeleteCacheEntryResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...

class BatchGetCacheEntriesRequest(_message.Message):
    __slots__ = ("namespace", "keys")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEYS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, namespace: _Optional[str] = ..., keys: _Optional[_Iterable[str]] = ...) -> None: ...

class BatchGetCacheEntriesResponse(_message.Message):
    __slots__ = ("entries", "missing_keys")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    MISSING_KEYS_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CacheEntry]
    missing_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, entries: _Optional[_Iterable[_Union[CacheEntry, _Mapping]]] = ..., missing_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class CacheEntryInput(_message.Message):
    __slots__ = ("key", "value", "ttl")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    key: str
    value: _struct_pb2.Value
    ttl: _duration_pb2.Duration
    def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BatchSetCacheEntriesRequest(_message.Message):
    __slots__ = ("namespace", "entries")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    entries: _containers.RepeatedCompositeFieldContainer[CacheEntryInput]
    def __init__(self, namespace: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[CacheEntryInput, _Mapping]]] = ...) -> None: ...

class BatchSetCacheEntriesResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[CacheEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[CacheEntry, _Mapping]]] = ...) -> None: ...

class DeleteCacheEntriesByPrefixRequest(_message.Message):
    __slots__ = ("namespace", "prefix")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    prefix: str
    def __init__(self, namespace: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class DeleteCacheEntriesByPrefixResponse(_message.Message):
    __slots__ = ("deleted_count",)
    DELETED_COUNT_FIELD_NUMBER: _ClassVar[int]
    deleted_count: int
    def __init__(self, deleted_count: _Optional[int] = ...) -> None: ...

class WatchCacheRequest(_message.Message):
    __slots__ = ("namespace", "prefix")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    prefix: str
    def __init__(self, namespace: _Optional[str] = ..., prefix: _Optional[str] = ...) -> None: ...

class WatchCacheResponse(_message.Message):
    __slots__ = ("type", "namespace", "key", "etag", "occurred_at")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    type: CacheEventType
    namespace: str
    key: str
    etag: str
    occurred_at: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[CacheEventType, str]] = ..., namespace: _Optional[str] = ..., key: _Optional[str] = ..., etag: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
