"""The command menu, in both languages (setMyCommands with language_code), from the registry."""

from __future__ import annotations

import contextlib

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from services.conversation.commands import CommandRegistry
from services.core.i18n import SUPPORTED, use_locale


def commands_in(registry: CommandRegistry, locale: str) -> list[BotCommand]:
    """The menu translated into one language."""
    with use_locale(locale):
        return [BotCommand(name, description) for name, description in registry.menu()]


async def set_default_commands(bot: Bot, registry: CommandRegistry, default_locale: str) -> None:
    """One menu per language, and the default language for clients in any other language."""
    for locale in SUPPORTED:
        await bot.set_my_commands(commands_in(registry, locale), language_code=locale)
    await bot.set_my_commands(commands_in(registry, default_locale))


async def set_chat_commands(bot: Bot, registry: CommandRegistry, chat_id: int, locale: str) -> None:
    """After a language change, show this person the menu in their language."""
    # Cosmetic: the replies already went out in the right language, so a failure is ignored.
    with contextlib.suppress(TelegramError):
        await bot.set_my_commands(commands_in(registry, locale), scope=BotCommandScopeChat(chat_id))
