"""The consent text shown before anything personal is stored (Law 91/2025/QH15)."""

from __future__ import annotations

import dataclasses

from services.conversation.buttons import ButtonData
from services.core.i18n import _

# Bump whenever the wording below changes: each donor's record says which version they accepted.
CONSENT_VERSION = "2026-11-v1"


def consent_text(organization: str) -> str:
    """What is collected, why, who holds it, and the person's rights, in plain words."""
    return _(
        "Before you register, please read this:\n"
        "\n"
        "• What we collect: your name, date of birth, sex, phone number, ward of residence, "
        "blood group and your last donation.\n"
        "• Why: to invite you to blood drives near you, to remind you when you may give again, "
        "and for anonymous statistics of the donation movement.\n"
        "• Who holds it: {organization}. It is not given to anyone else without a legal basis.\n"
        "• Your rights (Law on Personal Data Protection 91/2025/QH15): see and correct your data "
        "(/profile), withdraw your consent and have everything deleted (/forget) at any time.\n"
        "• Blood group and health information are sensitive data: we keep only what the service "
        "needs, never your answers to health questions.\n"
        "\n"
        "Tap “I agree” to continue. If you do not agree, nothing about you is stored."
    ).format(organization=organization)


@dataclasses.dataclass(frozen=True)
class ChooseLanguage(ButtonData, kind="lang"):
    """The first question: a language, before consent (a shared link rides along)."""

    locale: str
    after: str = ""


@dataclasses.dataclass(frozen=True)
class SetLanguage(ButtonData, kind="setlang"):
    """A registered person switching language."""

    locale: str


@dataclasses.dataclass(frozen=True)
class ConsentAnswer(ButtonData, kind="consent"):
    """Agreeing (answer "yes") or not to the consent text shown in `locale`."""

    locale: str
    answer: str
    after: str = ""


@dataclasses.dataclass(frozen=True)
class ForgetAnswer(ButtonData, kind="forget"):
    """Deleting everything: "ask" (show the question), "yes" or "no"."""

    answer: str
