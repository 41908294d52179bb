"""After a drive: a thank-you to each donor checked in, and the day's figures to its leader.

Both go through the outbox as declared kinds, worded when sent in the recipient's language. Each
row has a dedupe key (`thanks:<drive>:<donor>`, `drive_figures:<drive>`), so calling this twice
(the leader's "Finish the drive" and the scheduler's pass) sends nothing twice; a donor checked in
after a first call is still thanked by the next.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, CheckIn, Donation, Donor, Drive
from models.donations import CheckinOutcome
from models.donor import DonationKind
from models.types import utcnow
from services.conversation.dialog import Reply
from services.core.i18n import _, ngettext
from services.core.labels import date_label
from services.donations import history
from services.donations.views import milestone_line
from services.donors import donor_store
from services.drives import drive_store
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import RuleOptions
from services.outreach import notify, outbox
from services.outreach.messages import Message, message_kind

THANKS = "donation.thanks"
FIGURES = "drive.figures"
# The scheduler thanks the donors of drives that ended at least this long ago (the desk may
# still be correcting just after the end), up to the end of the correction window.
SETTLE = timedelta(hours=2)
LOOK_BACK = timedelta(days=2)


@dataclass(frozen=True)
class Figures:
    """What happened at one drive's desk."""

    venue: str
    day: date
    donated: int
    deferred: int
    no_show: int
    bags: dict[int, int]  # whole-blood bags by volume (ml)
    apheresis: int

    def params(self) -> dict[str, Any]:
        """As an outbox row's parameters."""
        data = dataclasses.asdict(self)
        data["day"] = self.day.isoformat()
        data["bags"] = {str(k): v for k, v in self.bags.items()}
        return data

    @classmethod
    def of(cls, params: dict[str, Any]) -> Figures:
        return cls(
            str(params["venue"]),
            date.fromisoformat(params["day"]),
            int(params["donated"]),
            int(params["deferred"]),
            int(params["no_show"]),
            {int(k): int(v) for k, v in dict(params.get("bags") or {}).items()},
            int(params.get("apheresis", 0)),
        )

    def text(self) -> str:
        """The figures, in the reader's language."""
        lines = [
            _("📊 {venue}, {date}").format(venue=self.venue, date=date_label(self.day)),
            _("✅ Donated: {donated} · ⏸ Deferred: {deferred} · ✖️ Did not come: {absent}").format(
                donated=self.donated, deferred=self.deferred, absent=self.no_show
            ),
        ]
        bags = ", ".join(f"{ml} ml × {n}" for ml, n in sorted(self.bags.items()) if n)
        if bags:
            lines.append(_("🩸 Whole-blood bags: {bags}").format(bags=bags))
        if self.apheresis:
            lines.append(
                ngettext(
                    "🩸 Apheresis: {n} donation", "🩸 Apheresis: {n} donations", self.apheresis
                ).format(n=self.apheresis)
            )
        return "\n".join(lines)


@message_kind(THANKS)
def thanks_message(params: dict[str, Any]) -> Reply:
    """The thank-you after a drive ({"volume_ml", "next", "count", "province"}), worded when
    sent; an honoring band reached (1, 5, 10 … 100 donations) is congratulated."""
    lines = [
        _("🩸 Thank you for giving blood ({volume} ml)! You may have helped save a life.").format(
            volume=params.get("volume_ml") or "—"
        )
    ]
    if params.get("next"):
        lines.append(
            _("By the rules you may give again from {date}; we will remind you.").format(
                date=date_label(date.fromisoformat(params["next"]))
            )
        )
    lines.append(
        _(
            "Keep your certificate (Giấy chứng nhận hiến máu tình nguyện): with it you receive "
            "blood free of charge, up to the volume you gave, when you need a transfusion at a "
            "public health facility."
        )
    )
    milestone = milestone_line(int(params.get("count") or 0), params.get("province"))
    if milestone is not None:
        lines.append(milestone)
    return Reply("\n\n".join(lines))


@message_kind(FIGURES)
def figures_message(params: dict[str, Any]) -> Reply:
    """The day's figures for the drive's leader, worded when sent."""
    thanked = int(params.get("thanked", 0))
    text = _("🏁 The drive is over. Thank you for organising it!") + "\n\n"
    text += Figures.of(params).text() + "\n"
    text += ngettext(
        "A thank-you went to {n} donor.", "A thank-you went to {n} donors.", thanked
    ).format(n=thanked)
    return Reply(text)


@dataclass(frozen=True)
class AfterDrive:
    """What thanking a drive's donors did."""

    figures: Figures
    thanked: int  # thank-yous queued by this call
    note_queued: bool  # the figures were queued to the leader by this call


async def figures(session: AsyncSession, drive: Drive, tz: ZoneInfo) -> Figures:
    """The day's figures of a drive's desk."""
    assert drive.id is not None
    checkins = (await session.exec(select(CheckIn).where(col(CheckIn.drive_id) == drive.id))).all()
    outcomes = Counter(c.outcome for c in checkins)
    donated = [c for c in checkins if c.outcome == CheckinOutcome.DONATED]
    whole = (DonationKind.WHOLE_BLOOD, DonationKind.RED_CELLS)
    bags = Counter(c.volume_ml or 0 for c in donated if c.kind in whole)
    return Figures(
        drive.venue_name,
        drive.starts_at.astimezone(tz).date(),
        outcomes[CheckinOutcome.DONATED],
        outcomes[CheckinOutcome.DEFERRED],
        outcomes[CheckinOutcome.NO_SHOW],
        {ml: bags.get(ml, 0) for ml in history.WHOLE_BLOOD_VOLUMES},
        sum(1 for c in donated if c.kind not in whole),
    )


async def thank_donors(
    session: AsyncSession,
    drive_id: int,
    *,
    tz: ZoneInfo,
    quiet_hours: tuple[time, time] = (time(21), time(7)),
    leader: Donor | None = None,
    options: RuleOptions | None = None,
    today: date | None = None,
    now: datetime | None = None,
) -> AfterDrive | None:
    """Queue the thank-yous and the leader's figures of a drive (once each); None for no drive.

    The figures go to `leader` (whoever finished the drive), else to the drive's creator."""
    drive = await drive_store.lock_drive(session, drive_id)  # two calls at once take turns
    if drive is None:
        return None
    now = now or utcnow()
    today = today or now.astimezone(tz).date()
    not_before = outbox.quiet_hours_not_before(now, tz, *quiet_hours)
    day_figures = await figures(session, drive, tz)
    rows = await session.exec(
        select(CheckIn, Donor)
        .join(Donor, col(Donor.id) == col(CheckIn.donor_id))
        .where(col(CheckIn.drive_id) == drive_id, col(CheckIn.outcome) == CheckinOutcome.DONATED)
        .order_by(col(CheckIn.id))
    )
    thanks: Broadcast | None = None
    thanked = 0
    for checkin, donor in rows.all():
        if donor.stopped_at is not None or checkin.donation_id is None:
            continue
        count = await _count_through(session, donor, checkin.donation_id)
        verdict = next_eligible(donor, today, options)
        params = {
            "volume_ml": checkin.volume_ml,
            "next": verdict.earliest.isoformat() if verdict.earliest else None,
            "count": count,  # the honoring band it reaches, if any, is congratulated
            "province": donor.province_code,
            "drive_id": drive_id,
        }
        recipient = dataclasses.replace(
            notify.recipient_for(donor, Message(THANKS, params)), chat_id=notify.private_chat(donor)
        )
        if thanks is None:
            thanks = await outbox.create_broadcast(
                session, "drive_thanks", "system", drive_id=drive_id
            )
        if await outbox.enqueue_once(
            session, thanks, recipient, not_before, f"thanks:{drive_id}:{donor.id}"
        ):
            thanked += 1
    note_queued = False
    to = leader or await _creator(session, drive)
    if to is not None and to.stopped_at is None:
        params = {**day_figures.params(), "thanked": thanked}
        recipient = dataclasses.replace(
            notify.recipient_for(to, Message(FIGURES, params)), chat_id=notify.private_chat(to)
        )
        note = await outbox.create_broadcast(session, "drive_figures", "system", drive_id=drive_id)
        note_queued = await outbox.enqueue_once(
            session,
            note,
            recipient,
            outbox.quiet_hours_not_before(now, tz, *quiet_hours),
            f"drive_figures:{drive_id}",
        )
        if not note_queued:
            await session.delete(note)
    if thanks is not None and thanks.total == 0:
        await session.delete(thanks)
    await session.flush()
    return AfterDrive(day_figures, thanked, note_queued)


async def _count_through(session: AsyncSession, donor: Donor, donation_id: int) -> int:
    """How many donations the donor had given up to and including this one."""
    donations = await history.donations_of(session, donor.id or 0)
    ids = [d.id for d in reversed(donations)]  # oldest first
    return ids.index(donation_id) + 1 if donation_id in ids else len(ids)


async def _creator(session: AsyncSession, drive: Drive) -> Donor | None:
    """The person who announced the drive (created_by is "channel:id")."""
    channel, _sep, external_id = drive.created_by.partition(":")
    if not external_id:
        return None
    return await donor_store.get_donor(session, channel, external_id)


async def drives_to_thank(session: AsyncSession, now: datetime | None = None) -> list[int]:
    """Drives that ended a while ago, within the correction window, with a donation recorded
    (the scheduler's pass calls `thank_donors` on each; already thanked donors are skipped)."""
    now = now or utcnow()
    query = (
        select(Drive.id)
        .where(
            col(Drive.ends_at) <= now - SETTLE,
            col(Drive.ends_at) > now - LOOK_BACK,
            col(Drive.id).in_(select(Donation.drive_id).where(col(Donation.drive_id).is_not(None))),
        )
        .order_by(col(Drive.id))
    )
    return [int(i) for i in (await session.exec(query)).all() if i is not None]
