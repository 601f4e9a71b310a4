"""String enums that accept values this SDK version does not know yet."""

from __future__ import annotations

import enum
from typing import Any


class OpenEnum(str, enum.Enum):
    """A `str` enum whose unknown wire values become extra members instead of errors.

    A newer server may send a value this SDK does not list; it is kept as is (its name and
    value are the wire string) and `is_known` tells it apart.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        cls._value2member_map_[value] = member
        return member

    @property
    def is_known(self) -> bool:
        """True when this SDK version declares the value."""
        return self._name_ in type(self).__members__

    def __str__(self) -> str:
        return str(self.value)
