"""The command menu, in both languages (setMyCommands with language_code)."""

from __future__ import annotations

import contextlib

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from services.core.i18n import N_, SUPPORTED, _, use_locale

COMMANDS = (
    ("start", N_("Register or open the menu")),
    ("eligibility", N_("Can I give blood?")),
    ("drives", N_("Blood drives near you")),
    ("profile", N_("See and change your details")),
    ("wards", N_("Wards you follow")),
    ("language", N_("Tiếng Việt / English")),
    ("help", N_("What the bot does")),
    ("stop", N_("No more messages")),
    ("forget", N_("Delete all your data")),
)


def commands_in(locale: str) -> list[BotCommand]:
    """The menu translated into one language."""
    with use_locale(locale):
        return [BotCommand(name, _(description)) for name, description in COMMANDS]


async def set_default_commands(bot: Bot, default_locale: str) -> None:
    """One menu per language, and the default language for clients in any other language."""
    for locale in SUPPORTED:
        await bot.set_my_commands(commands_in(locale), language_code=locale)
    await bot.set_my_commands(commands_in(default_locale))


async def set_chat_commands(bot: Bot, chat_id: int, locale: str) -> None:
    """After a language change, show this person the menu in their language."""
    # Cosmetic: the replies already went out in the right language, so a failure is ignored.
    with contextlib.suppress(TelegramError):
        await bot.set_my_commands(commands_in(locale), scope=BotCommandScopeChat(chat_id))
