"""/donations: how many times, when, how much and where a donor gave; when they may give again;
the honoring band reached and the next one."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donation, Donor, Drive
from models.donations import DonationSource
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.menus import MenuItem, OpenMenu
from services.core.i18n import _, ngettext
from services.core.labels import date_label, donation_kind_label
from services.donations import history, honoring
from services.donations.buttons import DonatedElsewhere
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import RuleOptions

SHOWN = 10  # the most recent donations listed; the count says how many there are in all


def next_eligible_line(donor: Donor, t: Turn, options: RuleOptions | None) -> str:
    """ "You may give again from 14/02/2027." (or today, or what the desk decides)."""
    verdict = next_eligible(donor, t.today, options)
    if verdict.earliest is None:
        return _("By the rules the bot knows, no date can be given: /eligibility says why.")
    if verdict.earliest <= t.today:
        return _("By the rules, you may give again now: see the drives near you (/drives).")
    return _("By the rules, you may give again from {date}.").format(
        date=date_label(verdict.earliest)
    )


def milestone_line(count: int, province: str | None) -> str | None:
    """The band the donor's latest donation reached, as a congratulation."""
    band = honoring.reached(count, province)
    if band is None:
        return None
    if band.count == 1:
        return _("🎉 Your first donation: thank you for joining the voluntary donors!")
    return _("🏅 Congratulations: {n} donations! You have reached an honoring milestone.").format(
        n=band.count
    )


def honoring_line(count: int, province: str | None) -> str:
    """The band reached so far, and how far the next one is."""
    band, following = honoring.current(count, province), honoring.next_band(count)
    parts = []
    if band is not None and band.count > 1:
        parts.append(
            _("🏅 Honoring: you have reached the milestone of {n} donations.").format(n=band.count)
        )
    if following is not None:
        parts.append(
            ngettext(
                "The next milestone is {next} donations: {left} to go.",
                "The next milestone is {next} donations: {left} to go.",
                following - count,
            ).format(next=following, left=following - count)
        )
    return " ".join(parts)


async def _places(session: AsyncSession, donations: list[Donation]) -> dict[int, str]:
    """The venues of the drives the donations were made at."""
    ids = {d.drive_id for d in donations if d.drive_id is not None}
    if not ids:
        return {}
    drives = await session.exec(select(Drive).where(col(Drive.id).in_(ids)))
    return {drive.id or 0: drive.venue_name for drive in drives}


def _line(donation: Donation, places: dict[int, str]) -> str:
    """ "• 20/11/2026 – Whole blood, 350 ml – Nhà văn hóa … (reported by you)"."""
    parts = [date_label(donation.donated_on), donation_kind_label(donation.kind)]
    if donation.volume_ml:
        parts[-1] += f", {donation.volume_ml} ml"
    place = places.get(donation.drive_id or 0) or donation.place
    if place:
        parts.append(place)
    line = "• " + " – ".join(parts)
    if donation.recorded_by == history.REGISTRATION:
        line += " " + _("(as you said when registering)")
    elif donation.source == DonationSource.SELF_REPORTED:
        line += " " + _("(reported by you)")
    return line


async def donations_view(t: Turn, options: RuleOptions | None = None) -> list[Reply]:
    """The donor's history, next eligible day and honoring, with "I donated elsewhere"."""
    donor = t.me
    assert donor.id is not None
    summary = await history.summary(t.session, donor)
    donations = await history.donations_of(t.session, donor.id)
    if not donations and summary.last is not None:
        donations = [summary.last]
    buttons = [
        [DonatedElsewhere().button(_("➕ I donated elsewhere"))],
        [OpenMenu(MenuItem.CARD).button(_("🪪 My donor card"))],
    ]
    if summary.count == 0:
        text = _(
            "No donation is recorded yet. When you give at a drive, the organiser records it "
            "here; if you gave somewhere else, add it yourself."
        )
        return [Reply(text, buttons)]
    lines = [
        ngettext(
            "🩸 You have given blood {n} time.", "🩸 You have given blood {n} times.", summary.count
        ).format(n=summary.count)
    ]
    if summary.total_ml:
        lines[0] += " " + _("In all: {ml} ml recorded.").format(ml=summary.total_ml)
    places = await _places(t.session, donations[:SHOWN])
    lines += [_line(d, places) for d in donations[:SHOWN]]
    if len(donations) > SHOWN:
        lines.append(_("…and {n} earlier.").format(n=len(donations) - SHOWN))
    lines += ["", next_eligible_line(donor, t, options)]
    honoring_text = honoring_line(summary.count, donor.province_code)
    if honoring_text:
        lines.append(honoring_text)
    return [Reply("\n".join(lines), buttons)]
