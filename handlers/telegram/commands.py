"""Slash commands: every command of the registry goes through one handler to the router."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.render import render


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/name args…: the router looks the command up (services/chat.py:COMMANDS)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    name = message.text.split()[0].lstrip("/").split("@")[0].lower()
    outcome = await chat_service(context).command(sender_of(update), name, list(context.args or []))
    await render(update, context, outcome)
