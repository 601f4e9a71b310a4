from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor
ERROR_RULE_FIELD_NUMBER: _ClassVar[int]
error_rule: _descriptor.FieldDescriptor
RULES_FIELD_NUMBER: _ClassVar[int]
rules: _descriptor.FieldDescriptor
AUTH_FIELD_NUMBER: _ClassVar[int]
auth: _descriptor.FieldDescriptor

class ErrorCodeRule(_message.Message):
    __slots__ = ("http_status", "grpc_code", "retryable")
    HTTP_STATUS_FIELD_NUMBER: _ClassVar[int]
    GRPC_CODE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    http_status: int
    grpc_code: str
    retryable: bool
    def __init__(self, http_status: _Optional[int] = ..., grpc_code: _Optional[str] = ..., retryable: _Optional[bool] = ...) -> None: ...

class FieldRules(_message.Message):
    __slots__ = ("pattern", "min_length", "max_length", "minimum", "maximum", "max_items", "min_items", "min_duration", "max_duration")
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MIN_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MINIMUM_FIELD_NUMBER: _ClassVar[int]
    MAXIMUM_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MIN_ITEMS_FIELD_NUMBER: _ClassVar[int]
    MIN_DURATION_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_FIELD_NUMBER: _ClassVar[int]
    pattern: str
    min_length: int
    max_length: int
    minimum: int
    maximum: int
    max_items: int
    min_items: int
    min_duration: str
    max_duration: str
    def __init__(self, pattern: _Optional[str] = ..., min_length: _Optional[int] = ..., max_length: _Optional[int] = ..., minimum: _Optional[int] = ..., maximum: _Optional[int] = ..., max_items: _Optional[int] = ..., min_items: _Optional[int] = ..., min_duration: _Optional[str] = ..., max_duration: _Optional[str] = ...) -> None: ...

class MethodAuth(_message.Message):
    __slots__ = ("public", "action", "resource")
    PUBLIC_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    public: bool
    action: str
    resource: str
    def __init__(self, public: _Optional[bool] = ..., action: _Optional[str] = ..., resource: _Optional[str] = ...) -> None: ...
