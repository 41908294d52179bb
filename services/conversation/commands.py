"""The command registry: each command declared once, with its menu entry, its /help line and who
may use it. The router (services/chat) looks commands up here; the channels build their handlers
and their command menus from it (setMyCommands on Telegram), and /help lists it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from services.core.i18n import _

MAX_NAME = 32  # Telegram: 1–32 characters, lower-case letters, digits and underscores


class Needs(StrEnum):
    """What a person must have done before a command runs (checked by the router)."""

    NOTHING = "nothing"  # the command answers everyone itself (/start, /help, /grant…)
    CONSENT = "consent"  # a stored person: else "send /start first"
    REGISTRATION = "registration"  # a finished registration: else "finish registering first"


@dataclass(frozen=True)
class Command:
    """One slash command."""

    name: str
    handler_name: str  # the router's method that answers it
    menu: str | None = None  # N_ text in the channel's command menu; None: not in the menu
    help: str | None = None  # N_ line of /help; None: not listed there
    needs: Needs = Needs.CONSENT


Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


class CommandRegistry:
    """Commands in the order they are declared (the order of the menu and of /help)."""

    def __init__(self) -> None:
        self._commands: dict[str, Command] = {}

    def command(
        self,
        name: str,
        *,
        menu: str | None = None,
        help: str | None = None,
        needs: Needs = Needs.CONSENT,
    ) -> Callable[[Handler], Handler]:
        """Declare the decorated method as the answer to /name."""

        def declare(handler: Handler) -> Handler:
            if name in self._commands:
                raise ValueError(f"/{name} is declared twice")
            if not (0 < len(name) <= MAX_NAME and name.isascii() and name.islower()):
                raise ValueError(f"/{name} is not a valid command name")
            self._commands[name] = Command(name, handler.__name__, menu, help, needs)
            return handler

        return declare

    def get(self, name: str) -> Command | None:
        """The command called `name`, if there is one."""
        return self._commands.get(name)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands.values())

    def names(self) -> list[str]:
        """Every command name (for the channel's handlers)."""
        return list(self._commands)

    def menu(self) -> list[tuple[str, str]]:
        """(name, description) of the menu, in the current locale."""
        return [(c.name, _(c.menu)) for c in self if c.menu]

    def help_lines(self) -> list[str]:
        """"/name – what it does" for /help, in the current locale."""
        return [f"/{c.name} – {_(c.help)}" for c in self if c.help]
