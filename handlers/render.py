"""Rendering an `Outcome` as Telegram messages, keyboards and callback answers."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from handlers.menu import set_chat_commands
from services.dialog import Keyboard, Outcome, Reply

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


async def render(update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome) -> None:
    """Answer a tapped button (closing its keyboard), then send every reply in order."""
    query = update.callback_query
    if query is not None:
        await query.answer(outcome.toast)
        await _close_keyboard(update)
    chat = update.effective_chat
    if chat is None:
        return
    if outcome.menu_locale is not None:
        await set_chat_commands(context.bot, chat.id, outcome.menu_locale)
    for reply in outcome.replies:
        if reply.venue is not None:
            pin = reply.venue
            await context.bot.send_venue(
                chat.id, pin.latitude, pin.longitude, title=pin.title, address=pin.address
            )
        await context.bot.send_message(chat.id, reply.text, reply_markup=markup_for(reply))
        if reply.document is not None:
            await context.bot.send_document(
                chat.id,
                InputFile(reply.document.content, filename=reply.document.filename),
            )


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
    except BadRequest:
        # Already edited (a double tap) or too old to edit: nothing to close.
        pass
