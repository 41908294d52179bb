"""Human names for stored codes, in the current locale."""

from __future__ import annotations

from datetime import date

from babel.numbers import format_decimal

from models.donor import BloodGroup, DonationKind, Sex
from services.core.i18n import _, get_locale
from services.core.validation import format_vn_phone

SEXES = tuple(Sex)
BLOOD_GROUPS = tuple(BloodGroup)  # in the order offered: A+, A-, B+, … O-
UNKNOWN_BLOOD_GROUP = "unknown"
# The kinds registration and the eligibility check offer as buttons (red cells are not offered).
DONATION_KINDS = (DonationKind.WHOLE_BLOOD, DonationKind.PLATELETS, DonationKind.PLASMA)
NEVER_DONATED = "never"


def sex_label(code: str | None) -> str:
    """Male / Female."""
    names: dict[str, str] = {Sex.MALE: _("Male"), Sex.FEMALE: _("Female")}
    return names.get(code or "", "—")


def blood_group_label(code: str | None) -> str:
    """O+ … or "I don't know"."""
    if code == UNKNOWN_BLOOD_GROUP:
        return _("I don't know")
    return code or "—"


def donation_kind_label(code: str | None) -> str:
    """Whole blood / platelets / plasma / never."""
    names: dict[str, str] = {
        DonationKind.WHOLE_BLOOD: _("Whole blood"),
        DonationKind.PLATELETS: _("Platelets (apheresis)"),
        DonationKind.PLASMA: _("Plasma (apheresis)"),
        DonationKind.RED_CELLS: _("Red cells (apheresis)"),
        NEVER_DONATED: _("Never donated"),
    }
    return names.get(code or "", "—")


def number_label(value: float) -> str:
    """A number as the reader's language writes it: 48,5 in Vietnamese, 48.5 in English; 60, not 60.0."""
    return format_decimal(value, format="#,##0.##", locale=get_locale())


def date_label(value: date | None) -> str:
    """dd/mm/yyyy, as dates are written in Vietnam."""
    return value.strftime("%d/%m/%Y") if value else "—"


def phone_label(e164: str | None) -> str:
    """0912 345 678."""
    return format_vn_phone(e164) if e164 else "—"


def language_label(locale: str) -> str:
    """Each language in its own name."""
    return {"vi": "Tiếng Việt", "en": "English"}.get(locale, locale)
