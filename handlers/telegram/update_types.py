"""Which kinds of update the registered handlers answer: what Telegram is asked to send.

Read from the handlers themselves rather than kept as a list: every message-like kind of update
(message, edited message, channel post, business message…) is offered to each message and
command handler as a few probe messages in a private chat (text, a command, a contact, a
location, a file); a kind is needed when some handler takes one of them. Tapped buttons need
callback queries. TypeHandlers are guards over what the others take (handlers/telegram/groups.py)
and add nothing. Another kind of handler must be taught here, or this refuses to guess.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from telegram import (
    Chat,
    Contact,
    Document,
    Location,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
)


def update_types(app: Application) -> list[str]:
    """The update types some handler of the (initialised) application answers, sorted."""
    needed: set[str] = set()
    for handlers in app.handlers.values():
        for handler in handlers:
            needed |= _types_of(app, handler)
    return sorted(str(kind) for kind in needed)


def _types_of(app: Application, handler: BaseHandler[Any, Any, Any]) -> set[str]:
    if isinstance(handler, TypeHandler):
        return set()
    if isinstance(handler, CallbackQueryHandler):
        return {Update.CALLBACK_QUERY}
    if isinstance(handler, MessageHandler | CommandHandler):
        return {
            kind
            for kind in _message_kinds()
            if any(handler.check_update(probe) for probe in _probes(app, handler, kind))
        }
    raise TypeError(
        f"{type(handler).__name__}: say in handlers/telegram/update_types.py which updates it needs"
    )


def _message_kinds() -> list[str]:
    """The update types that carry a Message (read from Update's signature)."""
    parameters = inspect.signature(Update.__init__).parameters
    return [
        kind
        for kind in Update.ALL_TYPES
        if kind in parameters and Message in getattr(parameters[kind].annotation, "__args__", ())
    ]


def _probes(app: Application, handler: BaseHandler[Any, Any, Any], kind: str) -> Iterator[Update]:
    """Updates of one kind, each with a message of another content, in a private chat."""
    user = User(id=1, first_name="probe", is_bot=False)
    chat = Chat(id=1, type=Chat.PRIVATE)
    command = next(iter(handler.commands), "start") if isinstance(handler, CommandHandler) else "x"
    entity = MessageEntity(MessageEntity.BOT_COMMAND, 0, len(command) + 1)
    contents: list[dict[str, Any]] = [
        {"text": "probe"},
        {"text": f"/{command}", "entities": (entity,)},
        {"contact": Contact("84900000000", "probe", user_id=1)},
        {"location": Location(105.85, 21.03)},
        {"document": Document("file", "unique")},
    ]
    for content in contents:
        message = Message(
            message_id=1, date=datetime.now(UTC), chat=chat, from_user=user, **content
        )
        message.set_bot(app.bot)
        of_kind: dict[str, Any] = {kind: message}
        yield Update(update_id=0, **of_kind)
