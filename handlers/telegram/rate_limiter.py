"""PTB's rate limiter for the replies: each message they send takes a turn from the bot's budget.

The bot's `SendBudget` (services/outreach/budget.py) is shared with the outbox sender, so replies
and broadcasts together stay under Telegram's 30 messages a second. Replies take their turns at
INTERACTIVE priority, ahead of any broadcast waiting. What sends no message (answering a tapped
button, editing a message, setting the menu, getMe, setWebhook) goes through without waiting: a
tap costs one message, its reply.

A 429 holds its chat for its retry_after (the outbox's messages to that chat too; several chats
at once pause the whole budget: services/outreach/budget.py) and is raised, not retried:
handlers/telegram/render.py tries a short one again and hands a long one to the outbox. A reply
does not wait out a long hold either (it would hold its update): it gets a 429 of the time left
at once, which render.py answers the same way. Other people's replies never wait for it.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from services.outreach.budget import Priority, SendBudget

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]  # what a Bot API call answers (PTB's own alias is private)

# The Bot API methods that put a message in a chat. A method not named here but starting with
# "send" counts too (a new kind of message is paced before it is known), except these.
MESSAGE_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendVenue",
        "sendLocation",
        "sendContact",
        "sendMediaGroup",
        "sendAudio",
        "sendVideo",
        "sendAnimation",
        "sendVoice",
        "sendVideoNote",
        "sendSticker",
        "sendPoll",
        "sendDice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
    }
)
NOT_MESSAGES = frozenset({"sendChatAction", "sendMessageDraft"})
# The longest pause a reply waits out (render.py's MAX_INLINE_RETRY_AFTER); beyond, the 429.
MAX_PAUSE_WAIT = 5.0


def sends_a_message(endpoint: str) -> bool:
    """Whether a Bot API call puts a message in a chat (and so takes a turn of the budget)."""
    if endpoint in MESSAGE_METHODS:
        return True
    return endpoint.startswith("send") and endpoint not in NOT_MESSAGES


class BudgetRateLimiter(BaseRateLimiter[None]):
    """Paces the messages of the application's bot through a shared `SendBudget`."""

    __slots__ = ("budget", "max_pause_wait")

    def __init__(self, budget: SendBudget, *, max_pause_wait: float = MAX_PAUSE_WAIT) -> None:
        self.budget = budget
        self.max_pause_wait = max_pause_wait

    async def initialize(self) -> None:
        """Nothing to set up: the budget belongs to the bot's wiring (bot.py)."""

    async def shutdown(self) -> None:
        """Nothing to release; waiters of a stopping application are cancelled with it."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | JSONDict | list[JSONDict]:
        """Wait for a turn if the call sends a message, then make it; obey and raise a 429."""
        chat = data.get("chat_id")
        chat_id = str(chat) if chat is not None else None
        if sends_a_message(endpoint):
            held = self.budget.held_for(chat_id) if chat_id else self.budget.paused_for()
            if held > self.max_pause_wait:
                raise RetryAfter(timedelta(seconds=math.ceil(held)))
            if held > 0:
                await asyncio.sleep(held)
            await self.budget.acquire(Priority.INTERACTIVE)
        try:
            return await callback(*args, **kwargs)
        except RetryAfter as exc:
            seconds = retry_seconds(exc)
            log.info("Telegram asked to wait %.0f s (%s); that chat waits", seconds, endpoint)
            self.budget.rate_limited(chat_id, seconds)
            raise


def retry_seconds(exc: RetryAfter) -> float:
    """retry_after in seconds. PTB keeps it as a timedelta (as its own AIORateLimiter reads it);
    the public attribute is an int or a timedelta by its settings, and warns while it changes."""
    value: object = getattr(exc, "_retry_after", None) or exc.retry_after
    total = getattr(value, "total_seconds", None)
    if callable(total):
        return float(total())
    return float(value) if isinstance(value, int | float) else 1.0
