"""The last resort: log the error and tell the person, in their language, to try again."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import ContextTypes

from services.i18n import _, pick_locale, use_locale

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Never show a traceback: apologise and point to a way forward."""
    log.error("Error while handling an update", exc_info=context.error)
    if isinstance(context.error, Forbidden):
        return  # the person blocked the bot: nothing can reach them
    if isinstance(update, Update) and update.effective_chat is not None:
        user = update.effective_user
        with use_locale(pick_locale(None, user.language_code if user else None)):
            notice = _(
                "Sorry, something went wrong on our side. Please try again in a moment; "
                "what you entered before is saved."
            )
        try:
            await context.bot.send_message(update.effective_chat.id, notice)
        except TelegramError:
            log.warning("Could not send the error notice", exc_info=True)
