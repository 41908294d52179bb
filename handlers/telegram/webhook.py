"""Webhook mode: one ASGI app (Starlette, served by uvicorn) for Telegram's updates and /healthz.

POST /telegram takes one update. It is answered only after it was handled (its answer and the
next step are in the database), so when the process dies mid-update Telegram gets no 200 and
sends it again; the chat service then recognises it by its id. Before anything is read the
`X-Telegram-Bot-Api-Secret-Token` header must match WEBHOOK_SECRET (403 otherwise), the body
may not exceed 1 MB (413) and must be a JSON update (400). A person's updates are handled one
at a time, in order of arrival (personal_order.py); the same update delivered again, while it
is being handled or after, is answered 200 without being handled twice.

The path is a fixed /telegram, not one derived from the token: the secret header is what
authenticates Telegram (compared in constant time), a path is no secret (it is in every proxy's
access log), and a token-derived path would change when a leaked token is revoked.

The app is built from routes (`create_app(route, route, …)`): the Zalo webhook or signed media
links will each be one more route. The runner (`serve`) leaves SIGINT/SIGTERM to bot.py's
runtime: on its stop event uvicorn stops accepting connections and lets the requests in flight
finish (GRACE seconds at most). deleteWebhook is never called: while the bot is down Telegram
keeps the updates (about a day) and delivers them when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.ext import Application

from handlers.telegram.personal_order import PersonalOrder
from handlers.telegram.update_types import update_types
from scheduler.health import Health
from services.conversation.arrivals import RecentKeys

log = logging.getLogger(__name__)

PATH = "/telegram"
HEALTH_PATH = "/healthz"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # bytes; Telegram's updates are a few kilobytes
GRACE = 30  # seconds the requests in flight get to finish after SIGTERM
REMEMBERED = 10_000  # update ids kept to answer a repeated delivery without handling it

HealthCheck = Callable[[], Awaitable[Health]]


class TelegramWebhook:
    """The endpoint Telegram posts updates to."""

    def __init__(
        self,
        app: Application,
        secret: str,
        *,
        order: PersonalOrder | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app = app
        self._secret = secret.encode("latin-1")
        self.order = order if order is not None else PersonalOrder()
        self.recent: RecentKeys[int] = RecentKeys(REMEMBERED)
        self.max_body = max_body

    async def receive(self, request: Request) -> Response:
        """Check, read, handle, then answer 200 (or say what was wrong, having handled nothing)."""
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(given.encode("latin-1"), self._secret):
            log.warning("Webhook request without the right secret token: refused")
            return PlainTextResponse("Forbidden", status_code=403)
        body = await self._body(request)
        if body is None:
            return PlainTextResponse("Payload Too Large", status_code=413)
        update = self._update(body)
        if update is None:
            return PlainTextResponse("Bad Request", status_code=400)
        await self.recent.once(update.update_id, lambda: self.order.process(self.app, update))
        return Response(status_code=200)

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

    def _update(self, body: bytes) -> Update | None:
        """The update, or None when the body is not one (nothing of it is logged)."""
        try:
            data = json.loads(body)
        except ValueError:
            log.warning("Webhook body is not JSON: refused")
            return None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            log.warning("Webhook body is not an update: refused")
            return None
        try:
            return Update.de_json(data, self.app.bot)
        except Exception as exc:  # a shape PTB cannot read
            log.warning("Webhook update could not be read (%s): refused", type(exc).__name__)
            return None


def telegram_route(app: Application, secret: str, *, path: str = PATH, **options: Any) -> Route:
    """POST /telegram, taking the application's updates (`order=PersonalOrder(at_once=…)` bounds
    how many are handled at once)."""
    return Route(path, TelegramWebhook(app, secret, **options).receive, methods=["POST"])


def health_route(check: HealthCheck, *, path: str = HEALTH_PATH) -> Route:
    """GET /healthz: the checks as JSON, 200 when all pass, 503 when one fails; no auth, no
    personal data."""

    async def healthz(request: Request) -> Response:
        report = await check()
        return JSONResponse(report.as_json(), status_code=200 if report.ok else 503)

    return Route(path, healthz, methods=["GET"])


def create_app(*routes: BaseRoute) -> Starlette:
    """The one ASGI app of the process: each channel's webhook, /healthz, later media links."""
    return Starlette(routes=list(routes))


async def set_webhook(app: Application, url: str, secret: str) -> list[str]:
    """Ask Telegram to post our handlers' update types to `url`, with the secret; the updates
    it holds from before are kept. Returns the update types asked for."""
    wanted = update_types(app)
    await app.bot.set_webhook(
        url, secret_token=secret, allowed_updates=wanted, drop_pending_updates=False
    )
    return wanted


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the webhook is set (a port in use fails here)."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: bot.py's runtime owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the signals alone."""
        yield


async def serve(
    asgi: Starlette, listening: socket.socket, stop: asyncio.Event, *, grace: int = GRACE
) -> None:
    """Serve until `stop` is set; then take no new request and let those in flight finish."""
    config = uvicorn.Config(
        asgi,
        lifespan="off",
        ws="none",
        log_config=None,
        access_log=False,  # one line per update would only repeat the chat
        server_header=False,
        timeout_graceful_shutdown=grace,
    )
    server = _Server(config)

    async def exit_on_stop() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(exit_on_stop())
    try:
        await server.serve(sockets=[listening])
    finally:
        watcher.cancel()
        listening.close()
