"""The rules of services/eligibility applied to what a donor's profile holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from models import Donor
from services.core.labels import DONATION_KINDS
from services.eligibility.rules import (
    Answers,
    Donation,
    DonationKind,
    Effect,
    Profile,
    Reason,
    RuleOptions,
    Sex,
    assess,
)

# The stored values, looked up per donor (the reminder sweep checks thousands a pass).
SEXES = frozenset(Sex)
KINDS = frozenset(DonationKind)


class DonorFacts(Protocol):
    """What the rules read of a donor: a `Donor`, or the few columns the reminder sweep loads."""

    @property
    def date_of_birth(self) -> date | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def last_donation_kind(self) -> str | None: ...
    @property
    def last_donation_date(self) -> date | None: ...
    @property
    def deferred_until(self) -> date | None: ...
    @property
    def deferral_code(self) -> str | None: ...


def profile_of(donor: DonorFacts, weight_kg: float | None = None) -> Profile:
    """Birth date, sex and the last donation, as the rules expect them."""
    donations = []
    if donor.last_donation_kind in DONATION_KINDS and donor.last_donation_date is not None:
        donations.append(Donation(donor.last_donation_date, DonationKind(donor.last_donation_kind)))
    sex = Sex(donor.sex) if donor.sex in SEXES else None
    return Profile(donor.date_of_birth, sex, weight_kg, tuple(donations))


@dataclass(frozen=True, slots=True)
class DayVerdict:
    """Whether what the bot knows lets a donor give on a given day, and if not, from when and why.

    Either `reason` (a rule applied to the profile: the last donation, age) or `saved_code` (the
    "deferred until" date kept from an eligibility check, e.g. after a tattoo) explains a refusal.
    """

    day: date
    earliest: date | None  # None: no date can be given (over the age limit)
    reason: Reason | None = None
    saved_code: str | None = None

    @property
    def allowed(self) -> bool:
        """The rules known to the bot allow a donation on `day` (the screening still decides)."""
        return self.earliest is not None and self.earliest <= self.day


def eligibility_on(
    donor: DonorFacts,
    day: date,
    kind: DonationKind = DonationKind.WHOLE_BLOOD,
    options: RuleOptions | None = None,
) -> DayVerdict:
    """The profile's rules (age, the interval after the last donation's kind) and the saved
    deferral, checked on `day` for a donation of `kind`."""
    verdict = assess(profile_of(donor), Answers(kind=kind), day, options)
    blocking = [r for r in verdict.reasons if r.effect in (Effect.PERMANENT, Effect.OPEN)]
    if blocking:
        return DayVerdict(day, None, blocking[0])
    dated = [r for r in verdict.reasons if r.effect is Effect.DEFER and r.until is not None]
    reason = max(dated, key=lambda r: r.until or day) if dated else None
    earliest = reason.until if reason is not None and reason.until is not None else day
    saved = donor.deferred_until
    if saved is not None and saved > earliest:
        return DayVerdict(day, saved, None, donor.deferral_code or "")
    return DayVerdict(day, earliest, reason)


def may_give_now(donor: Donor, today: date, options: RuleOptions | None = None) -> bool:
    """Age and interval allow whole blood today, and no saved deferral is still running."""
    return eligibility_on(donor, today, DonationKind.WHOLE_BLOOD, options).allowed


def next_eligible(donor: DonorFacts, today: date, options: RuleOptions | None = None) -> DayVerdict:
    """When the donor may give again: the interval after the most recent donation's kind (for a
    donation of that same kind), or a deferral the bot holds, whichever is later."""
    kind = (
        DonationKind(donor.last_donation_kind)
        if donor.last_donation_kind in KINDS
        else DonationKind.WHOLE_BLOOD
    )
    return eligibility_on(donor, today, kind, options)


def schedule_reminder(donor: Donor, today: date, options: RuleOptions | None = None) -> None:
    """Set the day of the "you may give again" reminder: the first day the rules allow, when it
    is still ahead (a newer donation or deferral replaces an older reminder); else none."""
    verdict = next_eligible(donor, today, options)
    ahead = verdict.earliest is not None and verdict.earliest > today
    donor.remind_on = verdict.earliest if ahead else None
