"""POST /zalo: the route Zalo posts events to, for the process's one ASGI app.

bot.py adds `zalo_route(handle, secret)` to `create_app(…)` beside Telegram's route and
/healthz. As Telegram's (handlers/telegram/webhook.py, whose shape this follows): before anything
is read the `X-Bot-Api-Secret-Token` header must equal ZALO_WEBHOOK_SECRET, compared in
constant time (403 otherwise, nothing handled); the body may not exceed MAX_BODY (413) and must
be a Zalo event, wrapped in {"ok": true, "result": …} or bare (400 otherwise). Then the event is
handled and only afterwards answered 200, so an event whose handling failed (500) is not lost
when Zalo delivers it again. A person's events are handled one at a time, in order of arrival;
the same event delivered again (by its name and message id) is answered 200 without being
handled twice while this process remembers it; after a restart the chat service recognises it
by its key, stored in `handled_events` (services/conversation/repeats.py).

The recent-keys memory and each person's turn are the channel-neutral ones of
services/conversation/arrivals.py, as Telegram's.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from handlers.zalo.events import NotAnEvent, ZaloEvent, parse_json
from services.conversation.arrivals import PersonalTurns, RecentKeys

log = logging.getLogger(__name__)

PATH = "/zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 256 * 1024  # bytes; an event is well under a kilobyte (an image comes as a URL)
REMEMBERED = 10_000  # event keys kept to answer a repeated delivery without handling it

Handle = Callable[[ZaloEvent], Awaitable[None]]


class ZaloWebhook:
    """The endpoint Zalo posts events to."""

    def __init__(
        self,
        handle: Handle,
        secret: str,
        *,
        max_body: int = MAX_BODY,
        at_once: int | None = None,
    ) -> None:
        if not secret:
            raise ValueError("the Zalo webhook needs its secret")
        self.handle = handle
        self._secret = secret.encode("utf-8")
        self.max_body = max_body
        self.recent: RecentKeys[str] = RecentKeys(REMEMBERED)
        self.turns: PersonalTurns[str] = PersonalTurns(at_once)

    async def receive(self, request: Request) -> Response:
        """Check, read, handle, then answer 200 (or say what was wrong, having handled nothing)."""
        if not self._authentic(request.headers.get(SECRET_HEADER)):
            log.warning("Zalo webhook request without the right secret token: refused")
            return PlainTextResponse("Forbidden", status_code=403)
        body = await self._body(request)
        if body is None:
            return PlainTextResponse("Payload Too Large", status_code=413)
        try:
            event = parse_json(body)
        except NotAnEvent as exc:
            log.warning("Zalo webhook body refused: %s", exc)
            return PlainTextResponse("Bad Request", status_code=400)
        if event.from_bot:
            return Response(status_code=200)  # a bot's own message is nothing to answer
        try:
            await self.recent.once(
                event.dedupe_key, lambda: self.turns.run(event.user_id, lambda: self.handle(event))
            )
        except Exception:
            log.exception("Zalo event %s not handled", event.name)
            return PlainTextResponse("Internal Server Error", status_code=500)
        return Response(status_code=200)

    def _authentic(self, given: str | None) -> bool:
        """The header's bytes (Starlette decodes headers as latin-1) equal the secret's, compared
        in constant time."""
        if given is None:
            return False
        return hmac.compare_digest(given.encode("latin-1"), self._secret)

    async def _body(self, request: Request) -> bytes | None:
        """The body, or None past the limit (by its Content-Length, or as it streams in)."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:
                return None
        return bytes(body)


def zalo_route(handle: Handle, secret: str, *, path: str = PATH, **options: Any) -> Route:
    """POST /zalo, handing each new event to `handle` (`at_once=…` bounds how many people's
    events are handled together: 1 on SQLite)."""
    return Route(path, ZaloWebhook(handle, secret, **options).receive, methods=["POST"])
