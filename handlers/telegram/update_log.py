"""One structured line per update: who (a keyed hash, never the Telegram id), what kind of
update reached which handler, the outcome and the latency. Never a name, phone or message text:
a command is named only when it is one of ours, a button only by its kind.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Collection
from contextvars import ContextVar

import structlog
from telegram import Update
from telegram.ext import Application

from handlers.telegram.common import CHANNEL
from services.roles.erasure import pseudonym

log = structlog.get_logger("update")

# The outcome of the update being handled; the error handler marks it (it runs inside
# `process_update`, in the same task, so it sees this update's value).
_outcome: ContextVar[list[str] | None] = ContextVar("update_outcome", default=None)


def mark_failed() -> None:
    """Called by the error handler: this update's line says "error"."""
    outcome = _outcome.get()
    if outcome is not None:
        outcome[0] = "error"


def handler_of(update: Update, commands: Collection[str]) -> str:
    """What the update is, as the handlers see it, without anything the person wrote."""
    chat = update.effective_chat
    if chat is not None and chat.type != chat.PRIVATE:
        return "group"
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        return f"button:{data.split(':', 1)[0][:16]}"
    if update.edited_message is not None:
        return "edited"
    message = update.message
    if message is None:
        return "other"
    if message.text is not None:
        if message.text.startswith("/"):
            name = message.text.split()[0].lstrip("/").split("@")[0].lower()
            return f"command:{name}" if name in commands else "command:unknown"
        return "text"
    for kind in ("contact", "location", "document"):
        if getattr(message, kind) is not None:
            return kind
    return "other"


_COMMANDS: frozenset[str] = frozenset()
_FALLBACK_KEY = secrets.token_bytes(32)  # an app without a chat service (some tests)


def _naming(app: Application) -> tuple[bytes, Collection[str]]:
    """The pseudonym key of the chat service, and our command names."""
    global _COMMANDS
    if not _COMMANDS:
        from services.chat import COMMANDS  # the registry is filled as services.chat loads

        _COMMANDS = frozenset(COMMANDS.names())
    service = getattr(app, "bot_data", {}).get("chat")  # a stand-in app may have none
    key = getattr(service, "pseudonym_key", None)
    return (key if isinstance(key, bytes) else _FALLBACK_KEY), _COMMANDS


def person_of(update: Update, key: bytes) -> str:
    """A stand-in for the person that joins their lines together and names nobody."""
    user = update.effective_user
    if user is None:
        return "-"
    return pseudonym(key, CHANNEL, str(user.id))


async def process_logged(app: Application, update: Update) -> None:
    """`app.process_update`, and then its line."""
    key, commands = _naming(app)
    outcome = ["ok"]
    token = _outcome.set(outcome)
    started = time.perf_counter()
    try:
        await app.process_update(update)
    except Exception:
        outcome[0] = "error"
        raise
    finally:
        _outcome.reset(token)
        log.info(
            "update",
            person=person_of(update, key),
            handler=handler_of(update, commands),
            outcome=outcome[0],
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
