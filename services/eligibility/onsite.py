"""Deferrals decided at a drive's screening desk: how long, and a short reason code.

The desk's leader records one of these on the donor row (`deferred_until`, `deferral_code`);
the eligibility answers and the sign-up check explain them with `onsite_label`.
"""

from __future__ import annotations

from datetime import date, timedelta

from services.core.i18n import N_, _
from services.eligibility.rules import add_months

PREFIX = "onsite_"
# The reasons a leader picks from (codes kept on donors.deferral_code, 32 characters at most).
REASONS: dict[str, str] = {
    "onsite_hemoglobin": N_("low haemoglobin"),
    "onsite_blood_pressure": N_("blood pressure"),
    "onsite_weight": N_("weight"),
    "onsite_illness": N_("illness"),
    "onsite_medicine": N_("medicine"),
    "onsite_other": N_("another reason"),
}
# How long a desk defers: a code and (days, months).
PERIODS: dict[str, tuple[int, int]] = {
    "1w": (7, 0),
    "1m": (0, 1),
    "3m": (0, 3),
    "6m": (0, 6),
    "12m": (0, 12),
}


def period_label(code: str) -> str:
    """ "1 week", "3 months"."""
    labels = {
        "1w": _("1 week"),
        "1m": _("1 month"),
        "3m": _("3 months"),
        "6m": _("6 months"),
        "12m": _("12 months"),
    }
    return labels.get(code, code)


def deferred_until(day: date, period: str) -> date:
    """The first day the donor may give again after a desk's deferral on `day`."""
    days, months = PERIODS[period]
    return add_months(day, months) + timedelta(days=days)


def is_onsite(code: str | None) -> bool:
    """A deferral code the desk wrote."""
    return bool(code) and str(code).startswith(PREFIX)


def onsite_label(code: str) -> str:
    """The reason a desk deferred the donor, in words."""
    return _(REASONS.get(code, REASONS["onsite_other"]))
