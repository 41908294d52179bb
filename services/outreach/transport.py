"""How the sender reaches a chat platform, and the outcomes it must tell apart."""

from __future__ import annotations

from typing import Protocol

from services.conversation.dialog import Reply


class Blocked(Exception):
    """The person blocked the bot or their account is gone: stop messaging them."""


class RateLimited(Exception):
    """The platform asked us to slow down for `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Transient(Exception):
    """A network error, timeout or server error: try again later."""


class Rejected(Exception):
    """The platform refused this message for good (chat not found, bad request)."""


class DocumentNotSent(Exception):
    """The text went out but the file after it did not; `outcome` says why (one of the above)."""

    def __init__(self, outcome: Exception) -> None:
        super().__init__(f"file not sent: {outcome}")
        self.outcome = outcome


class Transport(Protocol):
    """Sends replies (text, buttons, file) and edits a message's text on one chat platform."""

    async def send(self, chat_id: str, reply: Reply) -> int:
        """Send a reply's text with its buttons, then its file if any; returns the message's id.

        An empty text sends the file alone (its text went out before). When the text went out
        and the file failed, raise DocumentNotSent wrapping the outcome.
        """
        ...

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        """Replace a message's text."""
        ...


class Unauthorized(Exception):
    """The platform refused the bot's credentials (a revoked or wrong token): nothing can go out
    on this channel until an administrator fixes the token. Not the person's doing."""

    def __init__(self, channel: str, detail: str = "") -> None:
        super().__init__(
            f"{channel}: the bot's token was refused" + (f" ({detail})" if detail else "")
        )
        self.channel = channel


class QuotaExhausted(RateLimited):
    """The channel's quota of messages is used up; bulk messages wait `retry_after` seconds.

    A RateLimited, so a sender that knows only RateLimited retries the row later without counting
    an attempt. The pause is long (until the quota resets): it concerns that channel alone."""

    def __init__(self, channel: str, retry_after: float) -> None:
        super().__init__(retry_after)
        self.channel = channel
