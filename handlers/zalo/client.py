"""A small async client of the Zalo Bot Platform (a Telegram-shaped HTTP API), on httpx.

Every method is a POST of JSON to `{base}/bot{token}/{method}`; the answer is
`{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …}`. The SDKs on
the package index are thin forks of python-telegram-bot that call asyncio.run() inside a running
loop (../shared/reference/next-capabilities.md), hence this one.

Errors become the outbox sender's outcomes, so chat replies and the sender read them alike:
429 → RateLimited (Zalo's "quota exceeded"; it sends no retry_after, so the pause is ours),
401 → Unauthorized (the client then refuses every call without asking Zalo, and tells
`on_unauthorized` once), 400/404 and other 4xx → Rejected, 408/5xx/timeouts/network → Transient.
403 is Zalo's "internal error" in its own table of error codes, not "the person blocked the bot":
it is Transient here, because Blocked stops every message to the person (outbox.mark_blocked),
which a passing Zalo fault must not do. A 403 whose description speaks of blocking is Blocked.

The token is in every URL: no URL, request or httpx exception text leaves this module unredacted
(httpx's own INFO lines, which carry URLs, are held back by services/core/log_privacy.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from handlers.zalo.quota import MonthlyQuota
from services.core.text import utf16_length
from services.outreach.transport import Blocked, RateLimited, Rejected, Transient, Unauthorized

log = logging.getLogger(__name__)

CHANNEL = "zalo"
# The current host (docs.zaloplatforms.com); bot-api.zapps.me is the older one.
DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
TEXT_LIMIT = 2000  # characters of a message's text or a photo's caption
POLL_TIMEOUT = 30  # seconds Zalo holds a getUpdates open (its default)
TIMEOUT = 15.0  # seconds for any other call
RATE_LIMIT_PAUSE = 60.0  # seconds, when a 429 comes without a retry_after (Zalo sends none)
_BLOCKING_WORDS = ("block", "chặn", "unfollow")

OnUnauthorized = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Sent:
    """What Zalo answers to a send: the message's id (a hex string) and its time in ms."""

    message_id: str
    date: int | None = None


class ZaloClient:
    """`async with ZaloClient(token) as zalo: await zalo.send_message(chat_id, "Xin chào")`."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        timeout: float = TIMEOUT,
        http: httpx.AsyncClient | None = None,
        on_unauthorized: OnUnauthorized | None = None,
        quota: MonthlyQuota | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed")
        self._token = token
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self._own_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self.on_unauthorized = on_unauthorized
        self.quota = quota
        # Set by the first 401: every later call fails at once, and the admins hear of it once.
        self.disabled = False

    def __repr__(self) -> str:
        return f"ZaloClient(base_url={self.base_url!r}, disabled={self.disabled})"

    async def __aenter__(self) -> ZaloClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool, if it is ours."""
        if self._own_http:
            await self._http.aclose()

    # ------------------------------------------------------------ methods

    async def get_me(self) -> dict[str, Any]:
        """The bot's own account (checks the token)."""
        return _mapping(await self.call("getMe"))

    async def get_updates(self, poll_seconds: int = POLL_TIMEOUT) -> list[dict[str, Any]]:
        """Long poll: Zalo answers with one update (no offset: what came while nobody polled is
        lost), or 408 when none came in `poll_seconds`, which is an empty list here."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(poll_seconds)}, read_timeout=poll_seconds + 10.0
            )
        except _PollTimeout:
            return []
        if isinstance(result, list):
            return [u for u in result if isinstance(u, dict)]
        return [result] if isinstance(result, dict) and result else []

    async def set_webhook(self, url: str, secret_token: str) -> dict[str, Any]:
        """Have Zalo post updates to `url` (https), with `secret_token` (8–256 characters) in
        the X-Bot-Api-Secret-Token header."""
        if not 8 <= len(secret_token) <= 256:
            raise ValueError("Zalo's webhook secret is 8 to 256 characters")
        return _mapping(await self.call("setWebhook", {"url": url, "secret_token": secret_token}))

    async def delete_webhook(self) -> dict[str, Any]:
        """Back to getUpdates."""
        return _mapping(await self.call("deleteWebhook"))

    async def get_webhook_info(self) -> dict[str, Any]:
        """The webhook's URL ("" when none) and when it was set."""
        return _mapping(await self.call("getWebhookInfo"))

    async def send_message(self, chat_id: str, text: str) -> Sent:
        """One text of 1 to 2,000 characters (split longer ones first: conversation/numbered)."""
        if not text or utf16_length(text) > TEXT_LIMIT:
            raise Rejected(f"sendMessage: the text must be 1 to {TEXT_LIMIT} characters")
        return self._sent(await self.call("sendMessage", {"chat_id": chat_id, "text": text}))

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> Sent:
        """A picture Zalo fetches from a public URL (it takes no upload)."""
        if not photo_url.startswith(("https://", "http://")):
            raise Rejected("sendPhoto: the photo must be a URL")
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            if utf16_length(caption) > TEXT_LIMIT:
                raise Rejected(f"sendPhoto: the caption must be at most {TEXT_LIMIT} characters")
            params["caption"] = caption
        return self._sent(await self.call("sendPhoto", params))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        """ "typing…" in the person's chat for a few seconds."""
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    # ------------------------------------------------------------ the wire

    async def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        read_timeout: float | None = None,
    ) -> Any:
        """POST one method; its result, or the sender's outcome raised."""
        if self.disabled:
            raise Unauthorized(CHANNEL, f"{method}: disabled after an earlier 401")
        url = f"{self.base_url}/bot{self._token}/{method}"
        timeout = httpx.Timeout(self.timeout, read=read_timeout or self.timeout)
        try:
            response = await self._http.post(url, json=params or {}, timeout=timeout)
        except httpx.TimeoutException as exc:
            raise Transient(f"{method}: timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise Transient(f"{method}: {type(exc).__name__}: {self._redact(str(exc))}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("ok") is True:
            return data.get("result")
        code = _code(data, response.status_code)
        description = str(data.get("description") or "") if isinstance(data, dict) else ""
        raise await self._outcome(method, code, self._redact(description), data, response)

    def _sent(self, result: Any) -> Sent:
        """A send's answer, counted against the month's quota."""
        if self.quota is not None:
            self.quota.note_sent()
        mapping = _mapping(result)
        date = mapping.get("date")
        return Sent(str(mapping.get("message_id") or ""), date if isinstance(date, int) else None)

    async def _outcome(
        self,
        method: str,
        code: int,
        description: str,
        data: Any,
        response: httpx.Response,
    ) -> Exception:
        """The exception for an error answer."""
        detail = f"{method}: {code} {description}".strip()
        if code == 408 and method == "getUpdates":
            return _PollTimeout()
        if code == 401:
            await self._disable(detail)
            return Unauthorized(CHANNEL, detail)
        if code == 429:
            pause = _retry_after(data, response)
            if self.quota is not None:
                refused = self.quota.note_refused()
                pause = pause if pause is not None else refused
            return RateLimited(pause if pause is not None else RATE_LIMIT_PAUSE)
        if code == 403:
            if any(word in description.lower() for word in _BLOCKING_WORDS):
                return Blocked(detail)
            return Transient(detail)
        if code == 408 or code >= 500:
            return Transient(detail)
        return Rejected(detail)

    async def _disable(self, detail: str) -> None:
        """The first 401 turns the channel off and tells whoever wants to know, once."""
        if self.disabled:
            return
        self.disabled = True
        log.error("Zalo refused the bot token (%s): the Zalo channel is off", detail)
        if self.on_unauthorized is not None:
            try:
                await self.on_unauthorized()
            except Exception:
                log.exception("Could not report the refused Zalo token")

    def _redact(self, text: str) -> str:
        """The text without the token (an exception may quote the URL)."""
        return text.replace(self._token, "<token>")


class _PollTimeout(Exception):
    """getUpdates' 408: no update in the poll's time (normal, not an error)."""


def _code(data: Any, status: int) -> int:
    """The error code of the body, else the HTTP status (a proxy's 502 has no JSON body)."""
    if isinstance(data, dict):
        code = data.get("error_code")
        if isinstance(code, int):
            return code
        if isinstance(code, str) and code.isdigit():
            return int(code)
    return status if status >= 400 else 500


def _retry_after(data: Any, response: httpx.Response) -> float | None:
    """A retry_after in the body's parameters or a Retry-After header, if either is there."""
    if isinstance(data, dict):
        parameters = data.get("parameters")
        if isinstance(parameters, dict):
            value = parameters.get("retry_after")
            if isinstance(value, int | float) and value > 0:
                return float(value)
    header = response.headers.get("retry-after", "")
    return float(header) if header.isdigit() and int(header) > 0 else None


def _mapping(result: Any) -> dict[str, Any]:
    """A result that should be an object (an odd one reads as empty, not as a crash)."""
    return result if isinstance(result, dict) else {}
