"""Typed text, shared contacts and locations, and everything else people send."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.render import render
from services.conversation.dialog import Upload
from services.stats.plan_file import MAX_BYTES as UPLOAD_LIMIT  # larger files are not fetched


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer to the open question, a stop word, or a question for the bot."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await render(update, context, await chat_service(context).text(sender_of(update), message.text))


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared contact card (the phone step)."""
    message = update.effective_message
    user = update.effective_user
    if message is None or message.contact is None or user is None:
        return
    card = message.contact
    outcome = await chat_service(context).contact(
        sender_of(update), card.phone_number, is_own=card.user_id == user.id
    )
    await render(update, context, outcome)


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A shared location (the ward step)."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    point = message.location
    outcome = await chat_service(context).location(
        sender_of(update), point.latitude, point.longitude
    )
    await render(update, context, outcome)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file (a plan's spreadsheet): fetched when it is small enough to be one."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    sent = message.document
    size = sent.file_size or 0
    content = None
    if size <= UPLOAD_LIMIT:
        file = await sent.get_file()
        content = bytes(await file.download_as_bytearray())
        size = len(content)
    upload = Upload(sent.file_name or "file", size, content)
    await render(update, context, await chat_service(context).document(sender_of(update), upload))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command the bot does not have: treated like text it did not understand."""
    await text(update, context)


async def other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice…: say what the bot understands."""
    await render(update, context, await chat_service(context).unsupported(sender_of(update)))


async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message is never an answer: say to send it again."""
    await render(update, context, await chat_service(context).edited(sender_of(update)))
