"""Reading a Telegram update into the channel-neutral `Sender`, and reaching the chat service."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from services.chat import ChatService
from services.conversation.dialog import Sender

CHANNEL = "telegram"


def sender_of(update: Update) -> Sender:
    """Who sent this update; only private chats reach the services (handlers/groups.py)."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user or chat")
    return Sender(
        channel=CHANNEL,
        external_id=str(user.id),
        chat_id=str(chat.id),
        language_code=user.language_code,
        event_id=update.update_id,
        private=chat.type == chat.PRIVATE,
    )


def chat_service(context: ContextTypes.DEFAULT_TYPE) -> ChatService:
    """The service built in bot.py and kept in bot_data."""
    service: ChatService = context.bot_data["chat"]
    return service
