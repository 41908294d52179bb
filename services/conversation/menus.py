"""Screens shown outside any flow: the main menu and the help text."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from services.conversation.buttons import ButtonData
from services.conversation.dialog import Reply
from services.core.i18n import _


class MenuItem(StrEnum):
    """The main menu's entries."""

    DRIVES = "drives"
    ELIGIBILITY = "eligibility"
    PROFILE = "profile"
    WARDS = "wards"
    DONATIONS = "donations"
    CARD = "card"
    LANGUAGE = "language"
    HELP = "help"


@dataclasses.dataclass(frozen=True)
class OpenMenu(ButtonData, kind="menu"):
    """A main-menu entry (also offered at the end of other answers)."""

    item: MenuItem


def main_menu(text: str) -> Reply:
    """The main menu: what a registered person can do next."""
    return Reply(
        text,
        [
            [OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))],
            [OpenMenu(MenuItem.ELIGIBILITY).button(_("✅ Can I give blood?"))],
            [
                OpenMenu(MenuItem.DONATIONS).button(_("🩸 My donations")),
                OpenMenu(MenuItem.CARD).button(_("🪪 Donor card")),
            ],
            [
                OpenMenu(MenuItem.PROFILE).button(_("👤 My profile")),
                OpenMenu(MenuItem.WARDS).button(_("🔔 My wards")),
            ],
            [
                OpenMenu(MenuItem.LANGUAGE).button(_("🌐 Language")),
                OpenMenu(MenuItem.HELP).button(_("❓ Help")),
            ],
        ],
    )


def help_text(command_lines: list[str]) -> str:
    """What the bot does, then its commands ("/name – what it does", from the registry)."""
    intro = _(
        "I help volunteer blood donors in Vietnam:\n"
        "• register as a volunteer donor in your ward;\n"
        "• check whether and when you may give blood, and how much (/eligibility);\n"
        "• answer your questions: just type them, e.g. “how long after a tattoo can I give?”;\n"
        "• find drives in your ward and sign up (/drives); follow more wards (/wards);\n"
        "• keep your donations and a donor card for the drive's desk (/donations, /card), and "
        "remind you on the day you may give again.\n"
        "\n"
        "Commands:"
    )
    return "\n".join([intro, *command_lines])
