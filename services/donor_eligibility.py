"""The rules of services/eligibility applied to what a donor's profile holds."""

from __future__ import annotations

from datetime import date

from models import Donor
from services.eligibility import (
    Answers,
    Donation,
    DonationKind,
    Profile,
    RuleOptions,
    Sex,
    Status,
    assess,
)
from services.labels import DONATION_KINDS


def profile_of(donor: Donor, weight_kg: float | None = None) -> Profile:
    """Birth date, sex and the last donation, as the rules expect them."""
    donations = []
    if donor.last_donation_kind in DONATION_KINDS and donor.last_donation_date is not None:
        donations.append(Donation(donor.last_donation_date, DonationKind(donor.last_donation_kind)))
    sex = Sex(donor.sex) if donor.sex in ("male", "female") else None
    return Profile(donor.date_of_birth, sex, weight_kg, tuple(donations))


def may_give_now(donor: Donor, today: date, options: RuleOptions | None = None) -> bool:
    """Age and interval allow whole blood today, and no saved deferral is still running."""
    if donor.deferred_until is not None and donor.deferred_until > today:
        return False
    verdict = assess(profile_of(donor), Answers(kind=DonationKind.WHOLE_BLOOD), today, options)
    return verdict.status == Status.CAN_GIVE_NOW
