"""Typed button data: a kind and its fields, to and from the string a platform carries back.

One declaration per button kind (a frozen dataclass subclassing `ButtonData`). The wire format is
"kind:field:field…", the one the bot has always sent, so buttons already in people's chats keep
working. Telegram carries at most 64 bytes of callback data; `encode` refuses more. A forged or
truncated string decodes to None, never to an exception.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Awaitable, Callable
from datetime import date
from enum import StrEnum
from typing import Any, ClassVar, Self, TypeVar

from services.conversation.commands import Needs
from services.conversation.dialog import Button

MAX_BYTES = 64  # Telegram's callback_data limit; Zalo's postback payload is larger
MAX_INT_DIGITS = 9  # ids and counts; more is forged data


class ButtonData:
    """The data of one kind of button. Subclasses are frozen dataclasses declared with a kind:

    @dataclasses.dataclass(frozen=True)
    class SignUp(ButtonData, kind="signup"):
        drive_id: int
    """

    kind: ClassVar[str]
    kinds: ClassVar[dict[str, type[ButtonData]]] = {}

    def __init_subclass__(cls, kind: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not kind:
            return
        if ":" in kind or kind in ButtonData.kinds:
            raise TypeError(f"button kind {kind!r} is malformed or declared twice")
        cls.kind = kind
        ButtonData.kinds[kind] = cls

    def encode(self) -> str:
        """The string sent with the button."""
        fields = dataclasses.fields(self)  # type: ignore[arg-type]
        values = [_text(getattr(self, f.name)) for f in fields]
        for value in values[:-1]:
            if ":" in value:
                raise ValueError(f"only the last field of {self.kind!r} may hold ':'")
        # Trailing fields at their default are left out: "lang:vi", "md:keep".
        while values and getattr(self, fields[len(values) - 1].name) == _default(
            fields[len(values) - 1]
        ):
            values.pop()
        data = ":".join([self.kind, *values])
        if len(data.encode("utf-8")) > MAX_BYTES:
            raise ValueError(f"button data over {MAX_BYTES} bytes: {data!r}")
        return data

    def button(self, label: str) -> Button:
        """A button showing `label` that sends this data back."""
        return Button(label, self.encode())

    @classmethod
    def parse(cls, value: str) -> Self | None:
        """The fields after "kind:"; None when they do not fit the declaration."""
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        hints = typing.get_type_hints(cls)
        parts = value.split(":", len(fields) - 1) if fields else ([] if value == "" else [value])
        if len(parts) > len(fields):
            return None
        arguments: dict[str, Any] = {}
        for field, part in zip(fields, parts, strict=False):
            parsed = _parse(hints[field.name], part)
            if parsed is None:
                return None
            arguments[field.name] = parsed
        missing = fields[len(parts) :]
        if any(not _field_has_default(f) for f in missing):
            return None
        return cls(**arguments)


def decode(data: str) -> ButtonData | None:
    """The typed data behind a button's string; None for an unknown kind or forged fields."""
    if len(data.encode("utf-8")) > MAX_BYTES:
        return None
    kind, _sep, value = data.partition(":")
    declared = ButtonData.kinds.get(kind)
    return declared.parse(value) if declared is not None else None


def _text(value: object) -> str:
    """One field as sent."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _parse(hint: Any, part: str) -> Any:
    """One field as declared; None when it does not read as its type."""
    if hint is int:
        ascii_digits = part.isascii() and part.isdigit()
        return int(part) if ascii_digits and len(part) <= MAX_INT_DIGITS else None
    if hint is bool:
        return {"1": True, "0": False}.get(part)
    if hint is date:
        try:
            return date.fromisoformat(part) if part.isascii() else None
        except ValueError:
            return None
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return hint(part) if part in hint._value2member_map_ else None
    if hint is str:
        return part
    raise TypeError(f"button fields are int, bool, date, str or a StrEnum, not {hint!r}")


def _field_has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _default(field: dataclasses.Field[Any]) -> Any:
    """The field's default, or a marker that equals nothing when it has none."""
    if field.default is not dataclasses.MISSING:
        return field.default
    return _NO_DEFAULT


_NO_DEFAULT = object()


Answer = TypeVar("Answer", bound=Callable[..., Awaitable[Any]])


@dataclasses.dataclass(frozen=True)
class ButtonRoute:
    """Which router method answers a kind of button, and what the person must have done first."""

    kind: type[ButtonData]
    handler_name: str
    needs: Needs


class ButtonRegistry:
    """From a button's type to the router method that answers it (services/chat.py).

    Kinds a flow answers while it is open are not routed here: the open flow gets them."""

    def __init__(self) -> None:
        self._routes: dict[type[ButtonData], ButtonRoute] = {}

    def route(
        self, kind: type[ButtonData], *, needs: Needs = Needs.CONSENT
    ) -> Callable[[Answer], Answer]:
        """Declare the decorated method as the answer to buttons of `kind`."""

        def declare(handler: Answer) -> Answer:
            if kind in self._routes:
                raise ValueError(f"button kind {kind.kind!r} is routed twice")
            self._routes[kind] = ButtonRoute(kind, handler.__name__, needs)
            return handler

        return declare

    def get(self, data: ButtonData) -> ButtonRoute | None:
        """The route for a decoded button, if the router answers it."""
        return self._routes.get(type(data))

    def kinds(self) -> list[str]:
        """Every routed kind."""
        return [route.kind.kind for route in self._routes.values()]
