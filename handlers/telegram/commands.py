"""Slash commands: each reads the update, calls the chat service, renders the outcome."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.render import render


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Begin (language, consent, registration), resume, or show the menu."""
    payload = context.args[0] if context.args else None
    await render(update, context, await chat_service(context).start(sender_of(update), payload))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain what the bot does."""
    await render(update, context, await chat_service(context).help(sender_of(update)))


async def profile(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the profile with edit buttons."""
    await render(update, context, await chat_service(context).profile(sender_of(update)))


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer Vietnamese and English."""
    await render(update, context, await chat_service(context).language(sender_of(update)))


async def stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop all messages until the next /start."""
    await render(update, context, await chat_service(context).stop(sender_of(update)))


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask to confirm deleting everything."""
    await render(update, context, await chat_service(context).forget(sender_of(update)))


async def back(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Go one step back."""
    await render(update, context, await chat_service(context).back(sender_of(update)))


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave the current flow."""
    await render(update, context, await chat_service(context).cancel(sender_of(update)))


async def service_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drives, wards, leader and staff tools, roles: routed by the command's name."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    name = message.text.split()[0].lstrip("/").split("@")[0].lower()
    outcome = await chat_service(context).command(sender_of(update), name, list(context.args or []))
    await render(update, context, outcome)
