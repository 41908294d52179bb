"""The one Telegram renderer of a reply's buttons and keyboard, for chat replies and the outbox."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from services.conversation.dialog import Keyboard, Reply

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


def markup_for(reply: Reply) -> Markup:
    """Inline buttons, or a one-button reply keyboard, or its removal."""
    if reply.buttons:
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.keyboard is Keyboard.CONTACT:
        button = KeyboardButton(reply.keyboard_label, request_contact=True)
    elif reply.keyboard is Keyboard.LOCATION:
        button = KeyboardButton(reply.keyboard_label, request_location=True)
    elif reply.keyboard is Keyboard.REMOVE:
        return ReplyKeyboardRemove()
    else:
        return None
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)
