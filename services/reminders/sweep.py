"""The "you can give again" sweep: what is due lives on the donor row, never in a timer.

`Donor.remind_on` holds the day a donor may give again (set by every donation, deferral, snooze
and /eligibility's "remind me"); a partial index keeps the due donors a small set whatever the
number of donors. Each pass claims a batch of donors whose day has come (today at their hour, or
any earlier day: a reminder that fell due while the bot was down goes once it is back), and in
ONE transaction writes one outbox row per donor with the key "eligible:<donor>:<day>"
(`ON CONFLICT DO NOTHING`) and clears their day. So a restart (the transaction rolls back), two
sweeps at once, two processes (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the write lock is
taken first) or the same pass twice never queue a reminder twice.

The row names its kind and parameters; it is worded when sent, in the donor's language then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Drive
from services.conversation.dialog import Reply
from services.core.i18n import _
from services.core.labels import date_label
from services.donors.reminder_prefs import ReminderSwitch
from services.drives.buttons import SignUp
from services.drives.search import drives_for_many
from services.drives.views import when_label
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import RuleOptions
from services.outreach import messages, notify, outbox
from services.outreach.messages import message_kind
from services.reminders import eligible_again
from services.reminders.buttons import Snooze

ELIGIBLE = "reminder.eligible"
BATCH = 1000
DRIVES_SHOWN = 3
DRIVES_AHEAD = timedelta(days=60)  # drives further away are not worth a line yet
VENUE_IN_BUTTON = 28
DEFAULT_TZ = "Asia/Ho_Chi_Minh"


@dataclass(frozen=True)
class SweepResult:
    """What one pass did."""

    claimed: int = 0  # due donors taken
    queued: int = 0  # reminders written to the outbox
    rescheduled: int = 0  # the rules now give a later day (a deferral recorded meanwhile)
    dropped: int = 0  # no longer relevant: stopped, unregistered, reminders off, over age


def dedupe_key(donor_id: int, day: date) -> str:
    """The one reminder of a donor for a day."""
    return f"eligible:{donor_id}:{day.isoformat()}"


def in_quiet_hours(now: datetime, tz: ZoneInfo, quiet_hours: tuple[time, time]) -> bool:
    """Is it the quiet hours where the donors live?"""
    start, end = quiet_hours
    return outbox.quiet_hours_not_before(now, tz, start, end) != now


def _drive_params(drive: Drive) -> dict[str, Any]:
    """What the message needs of a drive (the drive is read at sweep time)."""
    return {
        "id": drive.id,
        "starts": drive.starts_at.astimezone(UTC).isoformat(),
        "ends": drive.ends_at.astimezone(UTC).isoformat(),
        "venue": drive.venue_name,
    }


def _venue_short(venue: str) -> str:
    return venue if len(venue) <= VENUE_IN_BUTTON else venue[: VENUE_IN_BUTTON - 1].rstrip() + "…"


@message_kind(ELIGIBLE)
def eligible_message(params: dict[str, Any]) -> Reply:
    """ "You can give again from {day}", the drives of the donor's wards with sign-up buttons,
    snooze and off ({"day": …, "tz": …, "drives": [{"id", "starts", "ends", "venue"}]})."""
    day = date.fromisoformat(params["day"])
    tz = ZoneInfo(str(params.get("tz") or DEFAULT_TZ))
    lines = [
        _(
            "🩸 Good news: from {date}, the rules allow you to give blood again. The doctor at "
            "the drive makes the final decision."
        ).format(date=date_label(day)),
        "",
    ]
    buttons = []
    drives = list(params.get("drives") or [])
    if drives:
        lines.append(_("Drives in your wards from {date}:").format(date=date_label(day)))
        for drive in drives:
            starts = datetime.fromisoformat(drive["starts"])
            ends = datetime.fromisoformat(drive["ends"])
            lines.append(f"• {when_label(starts, ends, tz)}: {drive['venue']}")
            label = _("✍️ Sign up: {date}, {venue}").format(
                date=date_label(starts.astimezone(tz).date()), venue=_venue_short(drive["venue"])
            )
            buttons.append([SignUp(int(drive["id"])).button(label)])
    else:
        lines.append(
            _(
                "No drive in your wards is announced for {date} or later yet; we will tell you "
                "when one is."
            ).format(date=date_label(day))
        )
    buttons.append(
        [
            Snooze(7).button(_("⏰ Remind me in a week")),
            Snooze(30).button(_("⏰ In a month")),
        ]
    )
    buttons.append([ReminderSwitch(False).button(_("🔕 No more of these reminders"))])
    return Reply("\n".join(lines), buttons)


async def claim_due(
    session: AsyncSession, today: date, hour: int, limit: int = BATCH
) -> list[Donor]:
    """Take the donors whose reminder is due: an earlier day, or today once their hour came.

    On PostgreSQL the rows are locked and rows another sweep holds are skipped; on SQLite the
    write lock is taken before reading, so a second sweep waits for this one's commit and then
    finds the donors already cleared."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres:
        await session.exec(update(Donor).where(col(Donor.id) == -1).values(remind_on=None))
    remind_on = col(Donor.remind_on)
    # `remind_on <= today` is implied by the rest, but it is what bounds the index range: without
    # it a pass with nothing due would walk every future reminder day.
    due = (
        remind_on.is_not(None)
        & (remind_on <= today)
        & ((remind_on < today) | (col(Donor.remind_hour) <= hour))
    )
    query = (
        select(Donor)
        .where(due)
        .order_by(remind_on, col(Donor.remind_hour), col(Donor.id))
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return list((await session.exec(query)).all())


async def sweep_eligible(
    session: AsyncSession,
    now: datetime,
    tz: ZoneInfo,
    quiet_hours: tuple[time, time],
    options: RuleOptions | None = None,
    limit: int = BATCH,
) -> SweepResult:
    """One pass, in the caller's transaction (which must commit it as one)."""
    if in_quiet_hours(now, tz, quiet_hours):
        return SweepResult()
    local = now.astimezone(tz)
    today = local.date()
    donors = await claim_due(session, today, local.hour, limit)
    if not donors:
        return SweepResult()
    send: list[Donor] = []
    later: dict[int, date] = {}
    dropped: list[int] = []
    for donor in donors:
        assert donor.id is not None
        if not donor.is_registered or donor.is_stopped or not donor.eligible_reminders:
            dropped.append(donor.id)
            continue
        # Still relevant? A deferral may have been recorded since the day was set.
        verdict = next_eligible(donor, today, options)
        if verdict.earliest is None:
            dropped.append(donor.id)
        elif verdict.earliest > today:
            later[donor.id] = verdict.earliest
        else:
            send.append(donor)
    queued = await _queue(session, send, now, tz)
    reminded = [d.id for d in send if d.id is not None]
    if reminded:  # a row the /eligibility button queued months ahead would repeat this one
        await eligible_again.cancel_pending(session, reminded)
    cleared = reminded + dropped
    if cleared:
        await session.exec(
            update(Donor)
            .where(col(Donor.id).in_(cleared))
            .values(remind_on=None)
            .execution_options(synchronize_session=False)  # the loaded rows are not used again
        )
    for donor_id, day in later.items():
        await session.exec(update(Donor).where(col(Donor.id) == donor_id).values(remind_on=day))
    return SweepResult(len(donors), queued, len(later), len(dropped))


async def _queue(session: AsyncSession, donors: list[Donor], now: datetime, tz: ZoneInfo) -> int:
    """One outbox row per donor (a key already there is left alone); returns how many."""
    if not donors:
        return 0
    ids = [d.id for d in donors if d.id is not None]
    drives = await drives_for_many(session, ids, now, now + DRIVES_AHEAD, DRIVES_SHOWN)
    # The row's stored wording is only a fallback (sent if this kind were ever undeclared): one
    # per language and day, without the drives, rather than the whole message worded per donor.
    fallbacks: dict[tuple[str, date], Reply] = {}
    rows: list[dict[str, Any]] = []
    for donor in donors:
        assert donor.id is not None and donor.remind_on is not None
        day = donor.remind_on
        params = {
            "day": day.isoformat(),
            "tz": tz.key,
            "drives": [_drive_params(d) for d in drives.get(donor.id, [])],
        }
        fallback = fallbacks.get((donor.locale, day))
        if fallback is None:
            bare = {"day": day.isoformat(), "tz": tz.key, "drives": []}
            fallback = fallbacks[(donor.locale, day)] = messages.render(
                ELIGIBLE, bare, donor.locale
            )
        recipient = outbox.Recipient(
            donor.id,
            notify.private_chat(donor),
            fallback.text,
            messages.button_rows(fallback),
            message_key=ELIGIBLE,
            params=params,
            locale=donor.locale,
            channel=donor.channel,
        )
        rows.append(outbox.once_row(recipient, recipient.chat_id, dedupe_key(donor.id, day), now))
    return await outbox.insert_once(session, rows)
