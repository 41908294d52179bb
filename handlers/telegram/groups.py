"""Groups, supergroups and channels: the bot converses only in private chats.

In a group the bot never reads or shows anyone's data and never touches where a donor's messages
go; a command (or a mention) there gets one line inviting the person to a private chat.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from handlers.telegram.common import chat_service

log = logging.getLogger(__name__)


def _addressed_to_bot(message: Message, username: str | None) -> bool:
    """A command, a mention of the bot, or a reply to one of its messages."""
    text = message.text or message.caption or ""
    if text.startswith("/"):
        return True
    if username and f"@{username}".lower() in text.lower():
        return True
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.is_bot)


async def outside_private_chat(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Outside a private chat: at most one line with a link to one, and no other handler runs."""
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is None or chat.type == chat.PRIVATE:
        return  # a private chat (or no chat at all): the ordinary handlers take it
    user = update.effective_user
    language = user.language_code if user else None
    try:
        username = context.bot.username
    except RuntimeError:  # not initialised (tests that build the app without get_me)
        username = None
    invite = chat_service(context).private_chat_invite(language, username)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(invite, show_alert=True)
        elif update.message is not None and _addressed_to_bot(update.message, username):
            await update.message.reply_text(invite, disable_web_page_preview=True)
    except TelegramError:
        log.warning("Could not answer in a group chat")
    raise ApplicationHandlerStop
