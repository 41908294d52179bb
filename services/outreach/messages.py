"""Message kinds: a queued message names its wording by key, and is worded when it is sent.

Each kind is declared once, where its words live (`@message_kind("reminder.eligible_again")`),
as a pure function of its JSON parameters returning a `Reply`; it runs under the recipient's
locale, so `_()` speaks their language of the moment. A reminder queued months ahead thus reads
as the bot words it on the day, in the language the person uses then.

A kind may also declare a picture (`@message_picture(key)`: its parameters → a PNG), drawn when
the row is sent, in a worker thread (a chart is ~0.2 s of CPU, never on the event loop) and in
the recipient's language then, like the words; the row keeps only the kind and its parameters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models import OutboxMessage
from services.conversation.dialog import Button, Document, Reply
from services.core.i18n import use_locale

log = logging.getLogger(__name__)

# The text stored at queue time, sent as it is (rows from before message keys, and notices a
# flow composes itself). Its parameters are unused: the row's text, buttons and file are it.
STORED = "text"

Render = Callable[[dict[str, Any]], Reply]
Draw = Callable[[dict[str, Any]], Document | None]


@dataclass(frozen=True)
class Message:
    """A message of a declared kind: its key and JSON parameters (worded when sent)."""

    key: str
    params: dict[str, Any]


_KINDS: dict[str, Render] = {}
_PICTURES: dict[str, Draw] = {}


def message_kind(key: str) -> Callable[[Render], Render]:
    """Declare a kind of message: `key` → the function that words it from its parameters."""

    def register(render: Render) -> Render:
        if key == STORED or (key in _KINDS and _KINDS[key] is not render):
            raise ValueError(f"message kind {key!r} is declared twice")
        _KINDS[key] = render
        return render

    return register


def message_picture(key: str) -> Callable[[Draw], Draw]:
    """Declare the picture that goes with a kind: `key` → the function that draws it (CPU-bound
    and synchronous: it is run in a worker thread)."""

    def register(draw: Draw) -> Draw:
        if key == STORED or (key in _PICTURES and _PICTURES[key] is not draw):
            raise ValueError(f"message picture {key!r} is declared twice")
        _PICTURES[key] = draw
        return draw

    return register


def has_picture(key: str | None) -> bool:
    """Does this kind come with a picture drawn at send time?"""
    return (key or STORED) in _PICTURES


async def picture(key: str | None, params: dict[str, Any] | None, locale: str) -> Document | None:
    """Draw a kind's picture in a worker thread, in `locale`; None when the kind has none or the
    drawing failed (the words still go: they carry the figures)."""
    draw = _PICTURES.get(key or STORED)
    if draw is None:
        return None
    values = dict(params or {})

    def drawn() -> Document | None:
        with use_locale(locale):
            return draw(values)

    try:
        return await asyncio.to_thread(drawn)
    except Exception:
        log.exception("Could not draw the picture of a %s message", key)
        return None


def known(key: str) -> bool:
    """Is this key declared (or the stored text)?"""
    return key == STORED or key in _KINDS


def render(key: str, params: dict[str, Any], locale: str) -> Reply:
    """Word a message of a declared kind in a locale."""
    with use_locale(locale):
        return _KINDS[key](params)


def button_rows(reply: Reply) -> list[list[dict[str, str]]]:
    """A reply's buttons as the outbox row's JSON keeps them."""
    return [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons]


def reply_of(text: str, buttons: list[list[dict[str, str]]], document: Document | None) -> Reply:
    """An outbox row's stored wording as a Reply."""
    rows = [[Button(b["label"], b["data"]) for b in row] for row in buttons]
    return Reply(text, rows, document=document)


@dataclass(frozen=True)
class Wording:
    """What goes out for one row: the reply, and whether it was worded now or at queue time."""

    reply: Reply
    fresh: bool


def wording(message: OutboxMessage, locale: str, stored_document: Document | None) -> Wording:
    """The row's message in `locale`; the stored wording for key "text", or when its kind is no
    longer declared (it still reaches the person, as it was worded at queue time). A kind worded
    now keeps the row's stored file, if it has one (an export: the file is made once)."""
    key = message.message_key or STORED
    if key != STORED and key in _KINDS:
        try:
            reply = render(key, dict(message.params or {}), locale)
            if reply.document is None and stored_document is not None:
                reply.document = stored_document  # a file made once (an export), worded now
            return Wording(reply, True)
        except Exception:  # a kind whose parameters changed shape: the queued wording is sent
            log.exception("Could not word outbox message %s (%s)", message.id, key)
    elif key != STORED:
        log.warning("Outbox message %s has an undeclared kind %r", message.id, key)
    return Wording(reply_of(message.text, message.buttons, stored_document), False)
