"""Tapped inline buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.render import render


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hand the button's data to the chat service."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await render(update, context, await chat_service(context).choice(sender_of(update), query.data))
