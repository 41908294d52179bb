"""What every flow is handed for one incoming event, and what it must answer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from models import ConversationState, Donor
from services.conversation import state_store
from services.conversation.actor import Actor
from services.conversation.dialog import Reply, Sender, Upload


@dataclass
class Turn:
    """One event being handled: the session, the person, their open flow, and today's date."""

    session: AsyncSession
    sender: Sender
    donor: Donor | None
    state: ConversationState | None
    duplicate: bool
    today: date
    # An idle flow holding health answers was just closed (and its answers deleted).
    expired: bool = False
    # How this person's roles are read (services/roles); read at most once per turn.
    load_actor: Callable[[], Awaitable[Actor]] | None = field(default=None, repr=False)
    _actor: Actor | None = field(default=None, init=False, repr=False)

    async def actor(self) -> Actor:
        """The person's roles, loaded on first use and kept for the rest of the turn."""
        if self._actor is None:
            if self.load_actor is None:  # a turn built without roles: a citizen
                self._actor = Actor(self.sender.channel, self.sender.external_id)
            else:
                self._actor = await self.load_actor()
        return self._actor

    @property
    def loaded_actor(self) -> Actor:
        """The roles `actor()` loaded earlier in this turn (for code that cannot wait, such as a
        step's prompt; the flow loads them when the turn reaches it)."""
        if self._actor is None:
            raise RuntimeError("Turn.actor() was not awaited before Turn.loaded_actor")
        return self._actor

    @property
    def me(self) -> Donor:
        """The donor (flows only run for people who consented)."""
        assert self.donor is not None and self.donor.id is not None
        return self.donor

    @property
    def data(self) -> dict[str, Any]:
        """The open flow's scratch data."""
        return self.state.data if self.state is not None else {}

    async def goto(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        """Move to a step, in the same transaction as the answer that caused it."""
        self.state = await state_store.set_state(self.session, self.me.id or 0, flow, step, data)

    async def close(self) -> None:
        """Close the open flow."""
        await state_store.clear_state(self.session, self.me.id or 0)
        self.state = None


class Flow(ABC):
    """A conversation of several steps whose position lives in `conversation_states`."""

    name: str = ""
    # Button data prefixes this flow answers while it is open ("sex", "bg", …).
    prefixes: tuple[str, ...] = ()
    # Health answers are kept only while the flow is in use: an hour without activity ends it.
    holds_health_answers: bool = False

    def takes_free_text(self, step: str) -> bool:
        """Whether the step's answer is a free-form text (a notice), where a question mark or a
        question word is part of the answer rather than a question to the bot."""
        return False

    @abstractmethod
    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again."""

    @abstractmethod
    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer."""

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """A tapped button; None when it does not belong to the open step."""
        return None

    async def on_contact(self, t: Turn, phone: str, is_own: bool) -> list[Reply] | None:
        """A shared contact; None when not asked for."""
        return None

    async def on_location(self, t: Turn, lat: float, lon: float) -> list[Reply] | None:
        """A shared location; None when not asked for."""
        return None

    async def on_document(self, t: Turn, upload: Upload) -> list[Reply] | None:
        """A file sent as a document; None when not asked for."""
        return None

    @abstractmethod
    async def on_back(self, t: Turn) -> list[Reply]:
        """/back: one step back."""

    @abstractmethod
    async def on_cancel(self, t: Turn) -> str:
        """/cancel: close the flow and say what became of the answers."""
