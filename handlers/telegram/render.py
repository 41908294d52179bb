"""Rendering an `Outcome` as Telegram messages, keyboards and callback answers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, CallbackQuery, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.markup import markup_for
from handlers.telegram.menu import set_chat_commands
from services.chat import COMMANDS
from services.conversation.dialog import Document, Outcome, Reply, joined
from services.core.i18n import _

log = logging.getLogger(__name__)

# Pauses before trying a reply again after a dropped connection or a 5xx; after the last one the
# rest of the answer goes to the outbox, whose sender keeps trying (nothing is lost).
RETRY_PAUSES = (0.5, 2.0)
# A 429 asking for longer than this is left to the outbox rather than holding the update.
MAX_INLINE_RETRY_AFTER = 5.0
TEXT_LIMIT = 4096  # Telegram's longest message
CAPTION_LIMIT = 1024  # and longest caption of a file or picture


async def render(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome) -> None:
    """Answer a tapped button (closing its keyboard), then send the replies in order, in as few
    messages as they fit (services/conversation/dialog.py `joined`; a file carries its words as
    its caption).

    The answer is already saved; what cannot be delivered now is queued in the outbox, and the
    chat service re-asks the open question if the person writes before it arrives."""
    query = update.callback_query
    if query is not None:
        await _answer_query(query, outcome.toast)
        await _close_keyboard(update)
    chat = update.effective_chat
    if chat is None:
        return
    if outcome.menu_locale is not None:
        try:
            await set_chat_commands(context.bot, COMMANDS, chat.id, outcome.menu_locale)
        except (NetworkError, RetryAfter):
            log.warning("Could not set the chat's command menu; the default stays")
    replies = joined(outcome.replies, TEXT_LIMIT)
    for index, reply in enumerate(replies):
        try:
            document_left = await _send_reply(context.bot, chat.id, reply)
        except Forbidden:
            return  # the person blocked the bot: nothing can reach them
        except BadRequest:
            raise  # our mistake (too long, bad markup): the error handler apologises
        except (NetworkError, RetryAfter) as exc:
            log.warning("Reply not delivered (%s); queued in the outbox", type(exc).__name__)
            await chat_service(context).deliver_later(sender_of(update), replies[index:])
            return
        if document_left is not None:
            rest = [Reply(_("📎 The file:"), document=document_left), *replies[index + 1 :]]
            await chat_service(context).deliver_later(sender_of(update), rest)
            return


async def _send_reply(bot: Bot, chat_id: int, reply: Reply) -> Document | None:
    """The pin (optional), the text, the file; returns the file if only it could not go."""
    if reply.venue is not None:
        pin = reply.venue
        try:
            await _retrying(
                bot.send_venue,
                chat_id,
                pin.latitude,
                pin.longitude,
                title=pin.title,
                address=pin.address,
            )
        except (NetworkError, RetryAfter):
            log.warning("Map pin not delivered; the text carries the address")
    if reply.document is not None and reply.image is None and len(reply.text) <= CAPTION_LIMIT:
        # One message: the file with the words as its caption, under the buttons.
        file = InputFile(reply.document.content, filename=reply.document.filename)
        await _retrying(
            bot.send_document, chat_id, file, caption=reply.text, reply_markup=markup_for(reply)
        )
        return None
    if reply.image is not None and reply.document is None and len(reply.text) <= CAPTION_LIMIT:
        shown = InputFile(reply.image.content, filename=reply.image.filename)
        await _retrying(
            bot.send_photo, chat_id, shown, caption=reply.text, reply_markup=markup_for(reply)
        )
        return None
    await _retrying(bot.send_message, chat_id, reply.text, reply_markup=markup_for(reply))
    if reply.document is not None:
        upload = reply.document
        try:
            await _retrying(
                bot.send_document, chat_id, InputFile(upload.content, filename=upload.filename)
            )
        except (NetworkError, RetryAfter):
            return upload
    if reply.image is not None:
        picture = reply.image
        await _retrying(
            bot.send_photo, chat_id, InputFile(picture.content, filename=picture.filename)
        )
    return None


async def _retrying(call: Any, *args: Any, **kwargs: Any) -> Any:
    """One Bot API call, tried again after a short pause on a network error, 5xx or short 429."""
    for pause in (*RETRY_PAUSES, None):
        try:
            return await call(*args, **kwargs)
        except BadRequest:
            raise
        except RetryAfter as exc:
            wait = _seconds(exc.retry_after)
            if pause is None or wait > MAX_INLINE_RETRY_AFTER:
                raise
            await asyncio.sleep(wait)
        except NetworkError:
            if pause is None:
                raise
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")


def _seconds(value: object) -> float:
    """retry_after is an int or a timedelta depending on PTB's settings."""
    total = getattr(value, "total_seconds", None)
    if callable(total):
        return float(total())
    return float(value) if isinstance(value, int | float) else MAX_INLINE_RETRY_AFTER + 1


async def _answer_query(query: CallbackQuery, toast: str | None) -> None:
    """Stop the button's spinner; after a restart the query may be too old, which is harmless."""
    try:
        await query.answer(toast)
    except TelegramError as exc:
        log.info("Could not answer a callback query (%s)", type(exc).__name__)


async def _close_keyboard(update: Update) -> None:
    """Remove the buttons of the tapped message and show which one was chosen."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    message = query.message
    keyboard = message.reply_markup
    chosen = None
    if isinstance(keyboard, InlineKeyboardMarkup):
        for row in keyboard.inline_keyboard:
            for button in row:
                if button.callback_data == query.data:
                    chosen = button.text
    try:
        if chosen and message.text:
            await message.edit_text(f"{message.text}\n\n→ {chosen}", entities=message.entities)
        else:
            await message.edit_reply_markup(None)
    except TelegramError:
        # Already edited (a double tap), too old to edit, or the network: nothing to close.
        pass
