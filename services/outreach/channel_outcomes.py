"""Sender outcomes a channel can raise beyond those of transport.py (added with Zalo, issue 12).

They live beside transport.py rather than in it only because this change adds files; they belong
with Blocked, RateLimited and the others, and can move there unchanged.
"""

from __future__ import annotations

from services.outreach.transport import RateLimited


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
