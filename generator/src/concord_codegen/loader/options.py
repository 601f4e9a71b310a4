"""Read custom and google.api options exactly, through a descriptor pool built from the set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.descriptor_pb2 import FileDescriptorSet
from google.protobuf.message import Message

HTTP_VERBS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class HttpRuleData:
    """A `google.api.http` rule: verb (upper case), path template, body and response body."""

    verb: str
    path: str
    body: str = ""
    response_body: str = ""
    additional: tuple[HttpRuleData, ...] = ()


@dataclass(frozen=True)
class ErrorRuleData:
    """A `(concord.v1.error_rule)` value."""

    http_status: int
    grpc_code: str
    retryable: bool


@dataclass(frozen=True)
class AuthData:
    """A `(concord.v1.auth)` value."""

    public: bool
    action: str
    resource: str


def present_fields(message: Message) -> dict[str, Any]:
    """The fields set on `message`, by name (repeated fields as lists)."""
    return {fd.name: _plain(fd, value) for fd, value in message.ListFields()}


def _plain(fd: FieldDescriptor, value: Any) -> Any:
    """Repeated containers as lists; everything else as is."""
    return list(value) if fd.is_repeated else value


class OptionReader:
    """Parses serialized options with a pool that knows every extension of the set."""

    def __init__(self, descriptor_set: FileDescriptorSet) -> None:
        self._pool = descriptor_pool.DescriptorPool()
        for file in descriptor_set.file:
            self._pool.AddSerializedFile(file.SerializeToString())
        self._classes: dict[str, type[Message]] = {}

    def _extension(self, options: Message, kind: str, extension: str) -> Message | list[Any] | None:
        """The value of `extension` in `options` (a `google.protobuf.<kind>`), or None if unset."""
        try:
            # The stubs type extension handles more narrowly than FindExtensionByName returns.
            ext: Any = self._pool.FindExtensionByName(extension)
        except KeyError:
            return None
        parsed = self._options_class(kind).FromString(options.SerializeToString())
        if ext.is_repeated:
            values: list[Any] = list(parsed.Extensions[ext])
            return values or None
        value: Message = parsed.Extensions[ext]
        return value if parsed.HasExtension(ext) else None

    def _options_class(self, kind: str) -> type[Message]:
        if kind not in self._classes:
            descriptor = self._pool.FindMessageTypeByName(f"google.protobuf.{kind}")
            self._classes[kind] = message_factory.GetMessageClass(descriptor)
        return self._classes[kind]

    def http_rule(self, options: Message) -> HttpRuleData | None:
        """The method's `google.api.http` binding, or None."""
        value = self._extension(options, "MethodOptions", "google.api.http")
        return _http_rule(present_fields(value)) if isinstance(value, Message) else None

    def auth(self, options: Message) -> AuthData | None:
        """The method's `(concord.v1.auth)`, or None."""
        value = self._extension(options, "MethodOptions", "concord.v1.auth")
        if not isinstance(value, Message):
            return None
        fields = present_fields(value)
        return AuthData(
            public=bool(fields.get("public", False)),
            action=str(fields.get("action", "")),
            resource=str(fields.get("resource", "")),
        )

    def sdk_name(self, options: Message, kind: str) -> str:
        """The SDK name of a method (`(concord.v1.sdk).method`) or service (`sdk_service`)."""
        if kind == "MethodOptions":
            value = self._extension(options, kind, "concord.v1.sdk")
            key = "method"
        else:
            value = self._extension(options, kind, "concord.v1.sdk_service")
            key = "resource"
        return str(present_fields(value).get(key, "")) if isinstance(value, Message) else ""

    def error_rule(self, options: Message) -> ErrorRuleData | None:
        """The enum value's `(concord.v1.error_rule)`, or None."""
        value = self._extension(options, "EnumValueOptions", "concord.v1.error_rule")
        if not isinstance(value, Message):
            return None
        fields = present_fields(value)
        return ErrorRuleData(
            http_status=int(fields.get("http_status", 0)),
            grpc_code=str(fields.get("grpc_code", "")),
            retryable=bool(fields.get("retryable", False)),
        )

    def field_rules(self, options: Message) -> dict[str, Any]:
        """The field's `(concord.v1.rules)` as the dict of rules that are set."""
        value = self._extension(options, "FieldOptions", "concord.v1.rules")
        return present_fields(value) if isinstance(value, Message) else {}

    def field_behavior(self, options: Message) -> frozenset[str]:
        """Names of the field's `google.api.field_behavior` values (e.g. REQUIRED)."""
        values = self._extension(options, "FieldOptions", "google.api.field_behavior")
        if not isinstance(values, list):
            return frozenset()
        enum = self._pool.FindEnumTypeByName("google.api.FieldBehavior")
        return frozenset(enum.values_by_number[int(v)].name for v in values)


def _http_rule(fields: dict[str, Any]) -> HttpRuleData:
    """Convert the set fields of an HttpRule into `HttpRuleData`."""
    verb, path = "", ""
    for name in HTTP_VERBS:
        if name in fields:
            verb, path = name.upper(), str(fields[name])
    if "custom" in fields:
        custom = present_fields(fields["custom"])
        verb, path = str(custom.get("kind", "")).upper(), str(custom.get("path", ""))
    extra = tuple(_http_rule(present_fields(m)) for m in fields.get("additional_bindings", []))
    return HttpRuleData(
        verb=verb,
        path=path,
        body=str(fields.get("body", "")),
        response_body=str(fields.get("response_body", "")),
        additional=extra,
    )
