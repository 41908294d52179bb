"""The weekly digest: every Monday at 08:00, last week's figures of their scope for the staff,
leaders and admins who asked for it, with a chart of the year's donations by month.

What is due lives on the subscription row (`due_at`, services/stats/subscriptions.py), never in a
timer, and the sweep follows the "you can give again" one (services/reminders/sweep.py): each
pass claims the rows whose moment has come (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on SQLite the
write lock is taken first), and in ONE transaction writes one outbox row per person under the key
"digest:<donor>:<ISO week>" (`ON CONFLICT DO NOTHING`) and moves their moment to the next Monday.
So a restart, two passes at once, two scheduler processes or the same pass twice never queue a
digest twice; one that fell due while the bot was down goes when it is back, if that is still
the week after the one it reports (an older week is not worth sending).

The person's roles are read at each pass: someone who lost theirs gets nothing and their
subscription ends; someone who sent /stop gets nothing that week. The row holds the figures as
numbers; the words are chosen when it is sent, in the reader's language then, and so is the
chart (drawn by the sender in a worker thread: `@message_picture`).
"""

from __future__ import annotations

import dataclasses
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import DigestSubscription, Donor
from models.database import Database
from models.types import utcnow
from services.conversation.dialog import Document, Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import date_label, number_label
from services.outreach import messages, notify, outbox
from services.outreach.messages import message_kind, message_picture
from services.roles import access
from services.roles.refusals import refuse
from services.stats import charts, reach
from services.stats.figures import Figures, Period, Scope, figures, units_by_month
from services.stats.plan_store import plan_of
from services.stats.progress import expected_share, planned_by_month, population_of
from services.stats.subscriptions import (
    DIGEST,
    DIGEST_HOUR,
    DigestSwitch,
    monday_of,
    next_due,
    subscribe,
    switch_button,
    unsubscribe,
)
from services.stats.view import (
    ACTION,
    PeriodName,
    StatsButton,
    StatsView,
    figures_text,
    home_scope,
    period_name,
    scope_name,
)

BATCH = 200  # subscriptions per transaction
BUDGET_SECONDS = 25.0  # one pass works for at most this long; the next (a minute on) goes on


@dataclass(frozen=True)
class DigestResult:
    """What one pass did."""

    claimed: int = 0  # due subscriptions taken
    queued: int = 0  # digests written to the outbox
    skipped: int = 0  # not this week: the person stopped all messages, or the week is past
    ended: int = 0  # subscriptions ended: the person no longer has figures to see


def reported_week(now: datetime, tz: ZoneInfo) -> tuple[Period, bool]:
    """The week the digests due by `now` report (the one before the latest Monday 08:00 that
    has come), and whether it may still go: only during the week after it."""
    local = now.astimezone(tz)
    monday = monday_of(local.date())
    if local < datetime.combine(monday, DIGEST_HOUR, tzinfo=tz):
        monday -= timedelta(days=7)  # Monday before 08:00: the latest due was a week ago
    start = monday - timedelta(days=7)
    return Period(start, start + timedelta(days=6)), monday == monday_of(local.date())


def dedupe_key(donor_id: int, week: Period) -> str:
    """The one digest of a person for a week: "digest:12:2027-W09"."""
    year, number, _day = week.start.isocalendar()
    return f"digest:{donor_id}:{year}-W{number:02d}"


# ------------------------------------------------------------ what the row holds


def _figures_params(result: Figures) -> dict[str, Any]:
    values = dataclasses.asdict(result)
    values["bags"] = {str(volume): n for volume, n in result.bags.items()}
    return values


def _figures_of(values: dict[str, Any]) -> Figures:
    known = {f.name for f in dataclasses.fields(Figures)}
    fields = {k: v for k, v in values.items() if k in known and k != "bags"}
    bags = {int(volume): int(n) for volume, n in dict(values.get("bags") or {}).items()}
    return Figures(**fields, bags=bags)


async def content(
    session: AsyncSession, scope: Scope, week: Period, tz: ZoneInfo
) -> dict[str, Any]:
    """A digest's parameters: the week's figures, the year so far against the plan (the units
    of the scope: a leader's are those of their wards), and the months for the chart."""
    year = week.end.year
    this_week = await figures(session, scope, week, tz)
    so_far = await figures(session, scope, Period(date(year, 1, 1), week.end), tz)
    months = await units_by_month(session, scope, year, tz, until=week.end)
    params: dict[str, Any] = {
        "province": scope.province,
        "wards": sorted(scope.wards) if scope.wards is not None else None,
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "week": _figures_params(this_week),
        "year": year,
        "units_so_far": so_far.converted_units,
        "reached_so_far": so_far.reached,
        "population": None,
        "plan": None,
        "actual_by_month": [months[m] for m in range(1, 13)],
        "planned_by_month": [0.0] * 12,
    }
    found = await plan_of(session, scope.province, year) if scope.province else None
    if found is not None:
        plan_units = found[1]
        if scope.wards is not None:
            plan_units = [u for u in plan_units if set(u.ward_codes) & scope.wards]
        targets = [(u, float(u.units if u.units is not None else u.bags)) for u in plan_units]
        params["population"] = population_of(found[1], scope.wards)
        params["plan"] = {
            "target": sum(t for _u, t in targets),
            "expected": sum(expected_share(u, year, week.end) * t for u, t in targets),
        }
        planned = planned_by_month(plan_units, year)
        params["planned_by_month"] = [planned[m] for m in range(1, 13)]
    return params


def _scope(params: dict[str, Any]) -> Scope:
    wards = params.get("wards")
    return Scope(params.get("province"), frozenset(wards) if wards is not None else None)


def _percent(part: float, whole: float) -> str:
    return f"{number_label(round(100 * part / whole, 1))} %" if whole else "—"


@message_kind(DIGEST)
def digest_message(params: dict[str, Any]) -> Reply:
    """Last week's figures, the year so far against the plan, and the buttons to /stats and to
    stop the digest (the chart follows: `digest_chart`)."""
    scope = _scope(params)
    week = Period(date.fromisoformat(params["start"]), date.fromisoformat(params["end"]))
    title = _("📬 The week in figures: {scope}, {period}").format(
        scope=scope_name(scope), period=period_name(week)
    )
    lines = [figures_text(title, _figures_of(params["week"])), ""]
    done = float(params.get("units_so_far") or 0)
    lines.append(
        _("This year up to {date}: {units} units of 250 ml").format(
            date=date_label(week.end), units=number_label(round(done, 1))
        )
    )
    plan = params.get("plan")
    if plan:
        target, expected = float(plan["target"]), float(plan["expected"])
        lines.append(
            _(
                "Against the plan for {year}: {done} / {target} ({percent}); the months planned "
                "so far expect {expected} ({expected_percent})"
            ).format(
                year=params["year"],
                done=number_label(round(done, 1)),
                target=number_label(round(target, 1)),
                percent=_percent(done, target),
                expected=number_label(round(expected, 1)),
                expected_percent=_percent(expected, target),
            )
        )
    elif scope.province is not None:
        lines.append(_("No plan for {year} has been uploaded yet.").format(year=params["year"]))
    population = params.get("population")
    if population:
        lines.append(reach.reached_line(int(params.get("reached_so_far") or 0), int(population)))
    buttons = [
        [StatsButton(StatsView.PERIOD, PeriodName.YEAR).button(_("📊 Open /stats"))],
        [switch_button(False)],
    ]
    return Reply("\n".join(lines), buttons)


@message_picture(DIGEST)
def digest_chart(params: dict[str, Any]) -> Document:
    """The year's donations by month against the plan, up to the digest's week (CPU-bound: the
    sender draws it in a worker thread)."""
    year = int(params["year"])
    actual = [float(v) for v in params.get("actual_by_month") or [0.0] * 12]
    planned = [float(v) for v in params.get("planned_by_month") or [0.0] * 12]
    months = [charts.MonthFigures(year, m + 1, actual[m], planned[m]) for m in range(12)]
    title = _("Donations by month, {year}: {scope}").format(
        year=year, scope=scope_name(_scope(params))
    )
    return Document("digest.png", charts.monthly_chart(title, months), "image/png")


# ------------------------------------------------------------ the sweep


async def claim_due(
    session: AsyncSession, now: datetime, limit: int = BATCH
) -> list[DigestSubscription]:
    """Take the subscriptions whose digest is due. On PostgreSQL the rows are locked and rows
    another pass holds are skipped; on SQLite the write lock is taken before reading, so a second
    pass waits for this one's commit and then finds their moments moved on."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres:
        await session.exec(
            update(DigestSubscription)
            .where(col(DigestSubscription.donor_id) == -1)
            .values(due_at=now)
        )
    query = (
        select(DigestSubscription)
        .where(col(DigestSubscription.due_at) <= now)
        .order_by(col(DigestSubscription.due_at), col(DigestSubscription.donor_id))
        .limit(limit)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True)
    return list((await session.exec(query)).all())


async def sweep_digests(
    session: AsyncSession,
    now: datetime,
    tz: ZoneInfo,
    quiet_hours: tuple[time, time],
    admin_ids: frozenset[str] = frozenset(),
    limit: int = BATCH,
) -> DigestResult:
    """One pass, in the caller's transaction (which must commit it as one)."""
    due = await claim_due(session, now, limit)
    if not due:
        return DigestResult()
    week, current = reported_week(now, tz)
    following = next_due(now, tz)
    ids = [s.donor_id for s in due]
    people = {d.id: d for d in (await session.exec(select(Donor).where(col(Donor.id).in_(ids))))}
    not_before = outbox.quiet_hours_not_before(now, tz, *quiet_hours)
    contents: dict[Scope, dict[str, Any]] = {}
    fallbacks: dict[tuple[Scope, str], Reply] = {}
    rows: list[dict[str, Any]] = []
    ended: list[int] = []
    skipped = 0
    for subscription in due:
        donor = people.get(subscription.donor_id)
        if donor is None:  # deleted meanwhile (its row goes with it)
            continue
        actor = await access.load_actor(session, donor.channel, donor.external_id, admin_ids)
        scope = home_scope(actor)
        if scope is None:
            ended.append(subscription.donor_id)
            continue
        subscription.due_at = following
        session.add(subscription)
        if donor.is_stopped or not current:
            skipped += 1
            continue
        params = contents.get(scope)
        if params is None:
            params = contents[scope] = await content(session, scope, week, tz)
        # The stored wording is only a fallback (sent if the kind were ever undeclared).
        fallback = fallbacks.get((scope, donor.locale))
        if fallback is None:
            fallback = fallbacks[(scope, donor.locale)] = messages.render(
                DIGEST, params, donor.locale
            )
        assert donor.id is not None
        recipient = outbox.Recipient(
            donor.id,
            notify.private_chat(donor),
            fallback.text,
            messages.button_rows(fallback),
            message_key=DIGEST,
            params=params,
            locale=donor.locale,
            channel=donor.channel,
        )
        key = dedupe_key(donor.id, week)
        rows.append(outbox.once_row(recipient, recipient.chat_id, key, not_before))
    queued = await outbox.insert_once(session, rows)
    if ended:
        await session.exec(
            delete(DigestSubscription).where(col(DigestSubscription.donor_id).in_(ended))
        )
    await session.flush()
    return DigestResult(len(due), queued, skipped, len(ended))


async def sweep_all_due(
    database: Database,
    now: datetime,
    tz: ZoneInfo,
    quiet_hours: tuple[time, time],
    admin_ids: frozenset[str] = frozenset(),
    batch: int = BATCH,
) -> int:
    """The scheduler's pass: batch after batch, each its own transaction, until nothing is due
    or the time budget is spent; returns how many digests were queued."""
    started, queued = clock.monotonic(), 0
    while clock.monotonic() - started < BUDGET_SECONDS:
        async with database.session() as session:
            result = await sweep_digests(session, now, tz, quiet_hours, admin_ids, batch)
        queued += result.queued
        if result.claimed < batch:
            break
    return queued


# ------------------------------------------------------------ the switch


async def switch(t: Turn, button: DigestSwitch, tz: ZoneInfo) -> list[Reply]:
    """Turn the digest on (for whoever /stats shows a scope to) or off (anyone)."""
    assert t.me.id is not None
    if not button.on:
        await unsubscribe(t.session, t.me.id)
        return [
            Reply(
                _("🔕 The weekly digest is off. /stats turns it on again."),
                [[switch_button(True)]],
            )
        ]
    scope = home_scope(await t.actor())
    if scope is None:
        return [refuse(ACTION)]
    await subscribe(t.session, t.me.id, utcnow(), tz)
    text = _(
        "📬 Done: every Monday at 08:00 I will send you the figures of the week before for "
        "{scope}, with a chart of the year's donations by month."
    ).format(scope=scope_name(scope))
    return [Reply(text, [[switch_button(False)]])]
