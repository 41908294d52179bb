"""The numbered choices a channel without buttons (Zalo) showed a person last, kept with them.

There a reply's buttons are numbered lines (services/conversation/numbered.py) and the person
types a number or the words of a choice. What each number stood for is stored on the donor row
(`donors.offered`) in the turn's transaction, so that a "2" typed later, after a restart too,
picks what the person saw. Every answer replaces them, and an answer without choices clears them:
a stale "2" must not pick an old question's choice.

A message from the outbox with choices (an announcement's "Sign up") numbers on after the last
answer's choices while that answer is recent (`FRESH_FOR`), and adds its own: the open question
and the announcement both stay answerable. Later than that it starts again at 1.

Nothing is stored about a person before their consent: the numbers of the language and consent
questions are kept in memory only (`Unconsented`), as is which consent text they were shown.
"""

from __future__ import annotations

import time as clock
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor
from services.conversation.numbered import Offered

# How long after an answer a message from the outbox numbers on after its choices.
FRESH_FOR = timedelta(hours=1)
# People who have not consented, whose numbers are kept in memory, and for how long.
UNCONSENTED_MEMORY = 10_000
UNCONSENTED_SECONDS = 24 * 3600


def packed(offered: Offered, now: datetime) -> dict[str, Any] | None:
    """The column's JSON: the choices and when they were shown; None for no choices."""
    if not offered:
        return None
    return {"at": int(now.timestamp()), "choices": offered.to_json()}


def unpacked(value: Any) -> tuple[Offered, datetime | None]:
    """The choices and when they were shown (nothing, for a malformed value)."""
    if not isinstance(value, dict):
        return Offered(), None
    at = value.get("at")
    if not isinstance(at, int) or isinstance(at, bool):
        return Offered(), None
    return Offered.from_json(value.get("choices")), datetime.fromtimestamp(at, UTC)


def stored(donor: Donor) -> Offered:
    """What the person's numbers stand for now."""
    return unpacked(donor.offered)[0]


def keep(donor: Donor, offered: Offered, now: datetime) -> None:
    """An answer was shown: its choices replace the earlier ones (none clears them)."""
    donor.offered = packed(offered, now)


def _recent(value: Any, now: datetime) -> Offered:
    """The stored choices, if shown lately enough to number on after them."""
    offered, at = unpacked(value)
    return offered if at is not None and now - at <= FRESH_FOR else Offered()


async def _donor_in_chat(
    session: AsyncSession, channel: str, chat_id: str, *, lock: bool = False
) -> Donor | None:
    statement = select(Donor).where(col(Donor.channel) == channel, col(Donor.chat_id) == chat_id)
    if lock:
        statement = statement.with_for_update()
    return (await session.exec(statement.limit(1))).first()


async def next_number(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> int:
    """Where a message from the outbox to this chat starts numbering its choices."""
    donor = await _donor_in_chat(session, channel, chat_id)
    return _recent(donor.offered, now).next_number if donor is not None else 1


async def add(
    session: AsyncSession, channel: str, chat_id: str, offered: Offered, now: datetime
) -> None:
    """A message from the outbox showed these choices: add them to the recent ones (a number
    both use now means the message's)."""
    if not offered:
        return
    donor = await _donor_in_chat(session, channel, chat_id, lock=True)
    if donor is None:
        return
    donor.offered = packed(_recent(donor.offered, now).then(offered), now)
    session.add(donor)


class Unconsented:
    """Before consent: each account's last numbers, in memory only (bounded, for a day)."""

    def __init__(self, size: int = UNCONSENTED_MEMORY, seconds: float = UNCONSENTED_SECONDS):
        self.size = size
        self.seconds = seconds
        self._kept: OrderedDict[tuple[str, str], tuple[Offered, float]] = OrderedDict()

    def keep(self, key: tuple[str, str], offered: Offered) -> None:
        """Replace the account's numbers (none forgets them)."""
        self._kept.pop(key, None)
        if offered:
            self._kept[key] = (offered, clock.monotonic())
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def get(self, key: tuple[str, str]) -> Offered:
        """The account's last numbers, if shown within the day."""
        kept = self._kept.get(key)
        if kept is None or clock.monotonic() - kept[1] > self.seconds:
            return Offered()
        return kept[0]
