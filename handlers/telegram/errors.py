"""The last resort: log the error and tell the person, in their language, to try again."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from handlers.telegram.common import chat_service, sender_of
from handlers.telegram.update_log import mark_failed
from services.core.i18n import _, pick_locale, use_locale

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Never show a traceback: apologise and point to a way forward."""
    # Only the exception's type and traceback: its message may quote what the person typed.
    error = context.error
    mark_failed()
    log.error(
        "Error while handling an update: %s",
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )
    if isinstance(context.error, Forbidden):
        return  # the person blocked the bot: nothing can reach them
    if isinstance(update, Update) and update.effective_chat is not None:
        with use_locale(await _chosen_locale(update, context)):
            notice = _(
                "Sorry, something went wrong on our side. Please try again in a moment; "
                "what you entered before is saved."
            )
        try:
            await context.bot.send_message(update.effective_chat.id, notice)
        except TelegramError:
            log.warning("Could not send the error notice", exc_info=True)


async def _chosen_locale(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The language the person chose in the bot; the app's language if none (or no database)."""
    user = update.effective_user
    fallback = pick_locale(None, user.language_code if user else None)
    try:
        return await chat_service(context).locale_for(sender_of(update))
    except Exception:  # the database may be what failed
        log.warning("Could not read the person's language; using the app's")
        return fallback
