"""One person's updates one at a time, in the order they arrive; different people in parallel.

Telegram's webhook keeps one update in flight per queue, but a person's messages and their
button taps are separate queues (the chat, the user), so both can arrive on parallel connections.
The chat service reads and writes the person's conversation state in each turn; two turns of
the same person at once would each see the state before the other. Here each person (the
update's user, or its chat when it has no user) has a lock; a lock exists only while one of that
person's updates is being handled or waits, so memory stays bounded by the updates in flight.
With `at_once`, at most that many updates (of different people) are in hand at the same time.
The database's bound (one writer on SQLite) is the chat service's, around each turn's
transaction only: sending replies overlaps.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application

from handlers.telegram.update_log import process_logged
from services.conversation.arrivals import PersonalTurns


class PersonalOrder:
    """`await PersonalOrder().process(app, update)`: handled after that person's earlier ones."""

    def __init__(self, at_once: int | None = None) -> None:
        self._turns: PersonalTurns[int] = PersonalTurns(at_once)

    def __len__(self) -> int:
        """How many people have an update being handled or waiting (the locks held in memory)."""
        return len(self._turns)

    async def process(self, app: Application, update: Update) -> None:
        """Wait for the person's earlier updates (FIFO), then handle this one."""
        key = person_of(update)
        if key is None:  # nobody to keep in order (an update without a user or chat)
            await process_logged(app, update)
            return
        await self._turns.run(key, lambda: process_logged(app, update))


def person_of(update: Update) -> int | None:
    """The user the update is from, else its chat."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None
