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

import asyncio
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Follow
from models.database import Database
from services.conversation.dialog import Reply
from services.core.i18n import _
from services.core.labels import date_label
from services.donors.reminder_prefs import ReminderSwitch
from services.drives.buttons import SignUp
from services.drives.search import DriveLine, drives_for_wards
from services.drives.views import when_label
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import RuleOptions
from services.outreach import messages, outbox
from services.outreach.messages import message_kind
from services.reminders import eligible_again
from services.reminders.buttons import Snooze

ELIGIBLE = "reminder.eligible"
BATCH = 2500  # donors a transaction: fewer commits, and the write lock held well under a second
# On PostgreSQL two batches are worked at once: SKIP LOCKED keeps them apart, and while one
# waits for the database the other words its rows. SQLite has one writer: one at a time.
POSTGRES_WORKERS = 2
BUDGET_SECONDS = 25.0  # one pass works for at most this long; the next pass (a minute on) goes on
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


def _drive_params(drive: DriveLine) -> dict[str, Any]:
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


@dataclass(frozen=True, slots=True)
class DueDonor:
    """What the sweep reads of a due donor: a few columns, not ORM objects (thousands a pass)."""

    id: int
    channel: str
    external_id: str
    chat_id: str
    locale: str
    registered: bool
    stopped: bool
    eligible_reminders: bool
    date_of_birth: date | None
    sex: str | None
    last_donation_kind: str | None
    last_donation_date: date | None
    deferred_until: date | None
    deferral_code: str | None
    followed: str | None  # the wards followed, comma-separated (one query for the batch)
    remind_on: date  # the day the reminder was for (cleared on the row as it is claimed)

    @property
    def private_chat(self) -> str:
        """As `notify.private_chat`: on Telegram the user's id is their private chat."""
        return self.external_id if self.channel == "telegram" else self.chat_id

    @property
    def wards(self) -> frozenset[str]:
        """The wards whose drives the reminder lists."""
        return frozenset(self.followed.split(",")) if self.followed else frozenset()


def _due_columns() -> tuple[Any, ...]:
    """The columns of DueDonor but the day, in order."""
    followed = (
        select(func.aggregate_strings(col(Follow.ward_code), ","))
        .where(col(Follow.donor_id) == col(Donor.id))
        .correlate(Donor)
        .scalar_subquery()
    )
    return (
        col(Donor.id),
        col(Donor.channel),
        col(Donor.external_id),
        col(Donor.chat_id),
        col(Donor.locale),
        col(Donor.registered_at).is_not(None),
        col(Donor.stopped_at).is_not(None),
        col(Donor.eligible_reminders),
        col(Donor.date_of_birth),
        col(Donor.sex),
        col(Donor.last_donation_kind),
        col(Donor.last_donation_date),
        col(Donor.deferred_until),
        col(Donor.deferral_code),
        followed,
    )


async def claim_due(
    session: AsyncSession, today: date, hour: int, limit: int = BATCH
) -> list[DueDonor]:
    """Take the donors whose reminder is due (an earlier day, or today once their hour came)
    and clear their day, in the caller's transaction; the sweep sets a later day again where
    the rules now give one.

    PostgreSQL: one statement locks the rows (skipping those another sweep holds), clears them
    and returns them. SQLite: the write lock is taken before reading, so a second sweep waits
    for this one's commit and then finds the donors already cleared."""
    remind_on = col(Donor.remind_on)
    # `remind_on <= today` is implied by the rest, but it is what bounds the index range: without
    # it a pass with nothing due would walk every future reminder day.
    due = (
        remind_on.is_not(None)
        & (remind_on <= today)
        & ((remind_on < today) | (col(Donor.remind_hour) <= hour))
    )
    # In the index's own order, so the scan stops after `limit` rows (ordering the ties by id
    # too would read every donor due today before returning the first batch).
    order = (remind_on, col(Donor.remind_hour))
    connection = await session.connection()  # Core: plain rows, not thousands of objects
    rows: list[Any]  # the columns of DueDonor, in order
    if session.get_bind().dialect.name == "postgresql":
        taken = (
            select(col(Donor.id), remind_on.label("day"))
            .where(due)
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("taken")
        )
        claim = (
            update(Donor)
            .where(col(Donor.id) == taken.c.id)
            .values(remind_on=None)
            .returning(*_due_columns(), taken.c.day)
        )
        rows = list(await connection.execute(claim))
    else:
        await connection.execute(update(Donor).where(col(Donor.id) == -1).values(remind_on=None))
        query = select(*_due_columns(), remind_on).where(due).order_by(*order).limit(limit)
        rows = list(await connection.execute(query))
        if rows:
            claimed = [row[0] for row in rows]
            await connection.execute(
                update(Donor).where(col(Donor.id).in_(claimed)).values(remind_on=None)
            )
    return [DueDonor(*row) for row in rows]


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
    send: list[DueDonor] = []
    later: dict[int, date] = {}
    dropped = 0
    for donor in donors:
        if not donor.registered or donor.stopped or not donor.eligible_reminders:
            dropped += 1
            continue
        # Still relevant? A deferral may have been recorded since the day was set.
        verdict = next_eligible(donor, today, options)
        if verdict.earliest is None:
            dropped += 1
        elif verdict.earliest > today:
            later[donor.id] = verdict.earliest
        else:
            send.append(donor)
    queued = await _queue(session, send, now, tz)
    if send:  # a row the /eligibility button queued months ahead would repeat this one
        await eligible_again.cancel_pending(session, [d.id for d in send])
    connection = await session.connection()
    for donor_id, day in later.items():
        await connection.execute(
            update(Donor).where(col(Donor.id) == donor_id).values(remind_on=day)
        )
    return SweepResult(len(donors), queued, len(later), dropped)


async def sweep_all_due(
    database: Database,
    now: datetime,
    tz: ZoneInfo,
    quiet_hours: tuple[time, time],
    options: RuleOptions | None = None,
    batch: int = BATCH,
) -> int:
    """The scheduler's pass: batch after batch, each its own transaction, until nothing is due
    or the time budget is spent; returns how many reminders were queued."""
    started = clock.monotonic()
    workers = POSTGRES_WORKERS if database.engine.dialect.name == "postgresql" else 1

    async def work() -> int:
        queued = 0
        while clock.monotonic() - started < BUDGET_SECONDS:
            async with database.session() as session:
                result = await sweep_eligible(session, now, tz, quiet_hours, options, batch)
            queued += result.queued
            # Alone, a short batch means nothing is left; beside another worker it may only
            # mean that the other holds the rest, so only an empty batch ends the work.
            if result.claimed == 0 or (workers == 1 and result.claimed < batch):
                return queued
        return queued

    return sum(await asyncio.gather(*(work() for _ in range(workers))))


async def _queue(session: AsyncSession, donors: list[DueDonor], now: datetime, tz: ZoneInfo) -> int:
    """One outbox row per donor (a key already there is left alone); returns how many."""
    if not donors:
        return 0
    wards = {d.followed: d.wards for d in donors}
    drives = await drives_for_wards(
        session, set(wards.values()), now, now + DRIVES_AHEAD, DRIVES_SHOWN
    )
    # Donors with the same day and wards get the same parameters: built once, not per donor.
    params_of: dict[tuple[date, str | None], dict[str, Any]] = {}
    # The row's stored wording is only a fallback (sent if this kind were ever undeclared): one
    # per language and day, without the drives, rather than the whole message worded per donor.
    fallbacks: dict[tuple[str, date], tuple[str, list[list[dict[str, str]]]]] = {}
    rows: list[dict[str, Any]] = []
    for donor in donors:
        day = donor.remind_on
        params = params_of.get((day, donor.followed))
        if params is None:
            mine = drives.get(wards[donor.followed], [])
            params = params_of[(day, donor.followed)] = {
                "day": day.isoformat(),
                "tz": tz.key,
                "drives": [_drive_params(drive) for drive in mine],
            }
        fallback = fallbacks.get((donor.locale, day))
        if fallback is None:
            bare = {"day": day.isoformat(), "tz": tz.key, "drives": []}
            worded = messages.render(ELIGIBLE, bare, donor.locale)
            fallback = fallbacks[(donor.locale, day)] = (
                worded.text,
                messages.button_rows(worded),
            )
        recipient = outbox.Recipient(
            donor.id,
            donor.private_chat,
            fallback[0],
            fallback[1],
            message_key=ELIGIBLE,
            params=params,
            locale=donor.locale,
            channel=donor.channel,
        )
        rows.append(outbox.once_row(recipient, recipient.chat_id, dedupe_key(donor.id, day), now))
    return await outbox.insert_once(session, rows)
