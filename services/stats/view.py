"""/stats: figures by period, drive, ward and campaign, and progress against the year's plan, for
staff (their province), leaders (their wards) and admins (everything); nobody sees outside their
scope. Every converted figure says its base (250 ml)."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from models import Drive, DriveWard
from models.drives import Campaign, DriveStatus
from services.conversation.actor import Actor
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button, Document, Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import date_label, number_label
from services.core.validation import DateFormatError, DateValueError, parse_date, parse_month
from services.drives.views import campaign_label
from services.knowledge.wards import get_province, get_ward
from services.roles import access
from services.roles.refusals import refuse
from services.stats import charts, reach, subscriptions
from services.stats.export_buttons import ExportWhat, export_row
from services.stats.figures import (
    Figures,
    Period,
    Scope,
    drives_query,
    figures,
    signups_by_day,
    units_by_month,
)
from services.stats.plan_store import plan_of
from services.stats.progress import (
    Standing,
    plan_aim,
    planned_by_month,
    scope_population,
    standings,
)

SHOWN_DRIVES = 10
SHOWN_WARDS = 20
ACTION = access.Action.VIEW_STATS


class StatsView(StrEnum):
    """What a /stats button shows."""

    PERIOD = "period"  # arg: week, month, year
    DRIVES = "drives"  # the list of drives
    DRIVE = "drive"  # arg: the drive's id
    WARDS = "wards"
    WARD = "ward"  # arg: the ward's code
    CAMPAIGNS = "campaigns"
    CAMPAIGN = "campaign"  # arg: the campaign's code
    PROGRESS = "progress"
    PROGRESS_CHART = "chart"
    DRIVE_CHART = "dchart"  # arg: the drive's id
    MONTHLY_CHART = "months"


@dataclasses.dataclass(frozen=True)
class StatsButton(ButtonData, kind="st"):
    """A button of /stats."""

    view: StatsView
    arg: str = ""


class PeriodName(StrEnum):
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# ------------------------------------------------------------ scope and periods


def home_scope(actor: Actor) -> Scope | None:
    """What the person may see as a whole: the country (admins), a province (staff), the wards
    of their club (leaders); None for anyone else."""
    if actor.is_admin:
        return Scope(None)
    if actor.staff_provinces:
        return Scope(sorted(actor.staff_provinces)[0])
    if actor.leader_scopes:
        club = actor.leader_scopes[0]
        return Scope(club.province_code, actor.leader_wards(club.province_code))
    return None


def named_period(name: PeriodName, today: date) -> Period:
    """This week (Monday to Sunday), this month, this year."""
    if name is PeriodName.WEEK:
        monday = today - timedelta(days=today.weekday())
        return Period(monday, monday + timedelta(days=6))
    if name is PeriodName.MONTH:
        last = calendar.monthrange(today.year, today.month)[1]
        return Period(today.replace(day=1), today.replace(day=last))
    return Period(date(today.year, 1, 1), date(today.year, 12, 31))


def typed_period(text: str, today: date) -> Period | None:
    """A period as people type it: "01/03/2027-31/03/2027", "1/3 - 15/3/2027", "3/2027",
    "tháng 3"; None if it cannot be read."""
    parts = [
        p.strip() for p in text.replace("–", "-").replace(" đến ", "-").split("-") if p.strip()
    ]
    try:
        if len(parts) == 2:
            end = parse_date(parts[1], today=today, two_digit_past=False)
            start = parse_date(parts[0], today=end, two_digit_past=False)
            return Period(start, end) if start <= end else None
        if len(parts) == 1:
            year, month = parse_month(parts[0], today)
            return Period(
                date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
            )
    except (DateFormatError, DateValueError, ValueError):
        return None
    return None


def scope_name(scope: Scope) -> str:
    """The scope as its reader knows it: all provinces, a province, or (some of) its wards."""
    if scope.province is None:
        return _("All provinces")
    province = get_province(scope.province)
    name = province.name if province else scope.province
    if scope.wards is None:
        return name
    wards = sorted(scope.wards)
    shown = [w.name for code in wards[:3] if (w := get_ward(scope.province, code)) is not None]
    more = f" (+{len(wards) - 3})" if len(wards) > 3 else ""
    return ", ".join(shown) + more


def period_name(period: Period) -> str:
    """01/03/2027–07/03/2027."""
    return f"{date_label(period.start)}–{date_label(period.end)}"


_scope_name, _period_name = scope_name, period_name


# ------------------------------------------------------------ the figures as text


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{number_label(round(value, 1))} %"


def figures_text(title: str, result: Figures, population: int | None = None) -> str:
    """The figures, a line each, the units labelled with their base; with the share of the
    population reached when the plan gives the scope's population."""
    bags = ", ".join(f"{volume} ml: {number_label(n)}" for volume, n in sorted(result.bags.items()))
    lines = [
        title,
        "",
        _("Drives: {n}").format(n=number_label(result.drives)),
        _("Sign-ups: {n} (waiting list: {w})").format(
            n=number_label(result.signups), w=number_label(result.waiting)
        ),
        _("At the desk: {n} — donated {d}, deferred on site {f}, did not come {x}").format(
            n=number_label(result.checkins),
            d=number_label(result.donated),
            f=number_label(result.deferred),
            x=number_label(result.no_shows),
        ),
        _("Bags: {n}{detail} = {units} units of 250 ml").format(
            n=number_label(result.bag_count),
            detail=f" ({bags})" if bags else "",
            units=number_label(round(result.converted_units, 1)),
        ),
        _("Bags of 350 ml or more: {share}").format(share=_percent(result.share_350_or_more)),
        _("Repeat donors: {n} ({share}); new donors: {new}").format(
            n=number_label(result.repeat_donors),
            share=_percent(result.repeat_share),
            new=number_label(result.new_donors),
        ),
    ]
    if result.walk_ins:
        lines.append(
            _("Of them not registered with the bot: {n}").format(n=number_label(result.walk_ins))
        )
    if population:
        lines.append(reach.reached_line(result.reached, population))
    return "\n".join(lines)


def _menu() -> list[list[Button]]:
    return [
        [
            StatsButton(StatsView.PERIOD, PeriodName.WEEK).button(_("This week")),
            StatsButton(StatsView.PERIOD, PeriodName.MONTH).button(_("This month")),
            StatsButton(StatsView.PERIOD, PeriodName.YEAR).button(_("This year")),
        ],
        [
            StatsButton(StatsView.DRIVES).button(_("🩸 By drive")),
            StatsButton(StatsView.WARDS).button(_("📍 By ward")),
            StatsButton(StatsView.CAMPAIGNS).button(_("🎗 By campaign")),
        ],
        [StatsButton(StatsView.PROGRESS).button(_("🎯 Against the year's plan"))],
    ]


# ------------------------------------------------------------ the answers


async def open_stats(t: Turn, tz: ZoneInfo, period: Period | None = None) -> list[Reply]:
    """This year's figures of the person's scope (or of a typed period), with the menu."""
    actor = await t.actor()
    scope = home_scope(actor)
    if scope is None:
        return [refuse(ACTION)]
    period = period or named_period(PeriodName.YEAR, t.today)
    result = await figures(t.session, scope, period, tz)
    population = await scope_population(t.session, scope, period.end.year)
    title = _("📊 {scope}, {period}").format(scope=_scope_name(scope), period=_period_name(period))
    text = figures_text(title, result, population)
    text += "\n\n" + _(
        "For another period, type it after /stats, e.g. /stats 01/03/2027-31/03/2027."
    )
    return [
        Reply(
            text,
            [
                export_row(ExportWhat.DONATIONS, period),
                *_menu(),
                await subscriptions.switch_row(t.session, t.me),
            ],
        )
    ]


async def show(t: Turn, tz: ZoneInfo, button: StatsButton) -> list[Reply]:
    """One view of /stats, within the person's scope."""
    actor = await t.actor()
    scope = home_scope(actor)
    if scope is None:
        return [refuse(ACTION)]
    year = named_period(PeriodName.YEAR, t.today)
    if button.view is StatsView.PERIOD:
        name = PeriodName(button.arg) if button.arg in tuple(PeriodName) else PeriodName.YEAR
        return await open_stats(t, tz, named_period(name, t.today))
    if button.view is StatsView.DRIVES:
        return await _drive_list(t, tz, scope, year)
    if button.view is StatsView.DRIVE and button.arg.isdigit():
        return await _drive(t, tz, actor, int(button.arg))
    if button.view is StatsView.WARDS:
        return await _ward_list(t, tz, scope, year)
    if button.view is StatsView.WARD and scope.province is not None:
        return await _ward(t, tz, actor, scope.province, button.arg, year)
    if button.view is StatsView.CAMPAIGNS:
        rows = [[StatsButton(StatsView.CAMPAIGN, c).button(campaign_label(c))] for c in Campaign]
        return [Reply(_("Which campaign?"), rows)]
    if button.view is StatsView.CAMPAIGN and button.arg in tuple(Campaign):
        within = dataclasses.replace(scope, campaign=button.arg)
        result = await figures(t.session, within, year, tz)
        title = _("📊 {campaign}: {scope}, {period}").format(
            campaign=campaign_label(button.arg), scope=_scope_name(scope), period=_period_name(year)
        )
        exports = export_row(ExportWhat.DONATIONS, year, campaign=button.arg)
        return [Reply(figures_text(title, result), [exports, *_menu()])]
    if button.view is StatsView.DRIVE_CHART and button.arg.isdigit():
        return await _drive(t, tz, actor, int(button.arg), chart=True)
    if button.view is StatsView.MONTHLY_CHART:
        return await _monthly(t, tz, scope)
    if button.view in (StatsView.PROGRESS, StatsView.PROGRESS_CHART):
        return await _progress(t, tz, actor, scope, chart=button.view is StatsView.PROGRESS_CHART)
    return [Reply(_("This button is no longer active."), _menu())]


async def _drive_list(t: Turn, tz: ZoneInfo, scope: Scope, period: Period) -> list[Reply]:
    """The latest drives of the scope this year, to pick one."""
    ids = drives_query(scope, period, tz)
    drives = await t.session.exec(
        select(Drive)
        .where(col(Drive.id).in_(ids))
        .order_by(col(Drive.starts_at).desc())
        .limit(SHOWN_DRIVES)
    )
    rows = [
        [
            StatsButton(StatsView.DRIVE, str(d.id)).button(
                f"{date_label(d.starts_at.astimezone(tz).date())} – {d.venue_name[:40]}"
            )
        ]
        for d in drives
    ]
    if not rows:
        return [Reply(_("No drive was held in your area this year yet."), _menu())]
    return [Reply(_("Which drive?"), rows)]


async def _drive(
    t: Turn, tz: ZoneInfo, actor: Actor, drive_id: int, chart: bool = False
) -> list[Reply]:
    """A drive's figures, for those whose scope it serves, with its seats left."""
    drive = await t.session.get(Drive, drive_id)
    if drive is None or drive.status != DriveStatus.PUBLISHED:
        return [Reply(_("This button is no longer active."), _menu())]
    wards = (
        await t.session.exec(select(DriveWard.ward_code).where(col(DriveWard.drive_id) == drive_id))
    ).all()
    if not any(access.allowed(actor, ACTION, drive.province_code, [w]) for w in wards):
        return [refuse(ACTION, drive.province_code, list(wards))]
    day = drive.starts_at.astimezone(tz).date()
    result = await figures(t.session, Scope(None, drive_id=drive_id), Period(day, day), tz)
    title = _("📊 {campaign}, {venue}, {date}").format(
        campaign=campaign_label(drive.campaign), venue=drive.venue_name, date=date_label(day)
    )
    text = figures_text(title, result)
    seats = max(0, drive.capacity - (result.signups - result.waiting))
    text += "\n" + _("Seats: {capacity}, left: {left}").format(
        capacity=number_label(drive.capacity), left=number_label(seats)
    )
    if chart:
        days = [charts.DayCount(d, n) for d, n in await signups_by_day(t.session, drive_id, tz)]
        picture = await charts.render_off_loop(charts.signups_chart, title, days, drive.capacity)
        return [Reply(title, _menu(), image=Document("signups.png", picture, "image/png"))]
    more = StatsButton(StatsView.DRIVE_CHART, str(drive_id)).button(_("📈 Sign-ups over time"))
    exports = export_row(ExportWhat.DONATIONS, Period(day, day), drive=drive_id)
    return [Reply(text, [[more], exports, *_menu()])]


async def _ward_list(t: Turn, tz: ZoneInfo, scope: Scope, period: Period) -> list[Reply]:
    """The wards of the scope that held drives this year."""
    if scope.province is None:
        return [Reply(_("Pick a province's staff view to see its wards."), _menu())]
    ids = drives_query(scope, period, tz)
    codes = await t.session.exec(
        select(DriveWard.ward_code)
        .where(col(DriveWard.drive_id).in_(ids))
        .distinct()
        .order_by(col(DriveWard.ward_code))
        .limit(SHOWN_WARDS)
    )
    rows = []
    for code in codes:
        if scope.wards is not None and code not in scope.wards:
            continue
        ward = get_ward(scope.province, code)
        rows.append([StatsButton(StatsView.WARD, code).button(ward.name if ward else code)])
    if not rows:
        return [Reply(_("No drive was held in your area this year yet."), _menu())]
    return [Reply(_("Which ward?"), rows)]


async def _ward(
    t: Turn, tz: ZoneInfo, actor: Actor, province: str, code: str, period: Period
) -> list[Reply]:
    if not access.allowed(actor, ACTION, province, [code]):
        return [refuse(ACTION, province, [code])]
    within = Scope(province, frozenset({code}))
    result = await figures(t.session, within, period, tz)
    population = await scope_population(t.session, within, period.end.year)
    ward = get_ward(province, code)
    title = _("📊 {scope}, {period}").format(
        scope=ward.name if ward else code, period=_period_name(period)
    )
    exports = export_row(ExportWhat.DONATIONS, period, ward=code)
    return [Reply(figures_text(title, result, population), [exports, *_menu()])]


async def _progress(t: Turn, tz: ZoneInfo, actor: Actor, scope: Scope, chart: bool) -> list[Reply]:
    """The province's plan unit by unit (staff and admins of a province; leaders see their
    wards' units), and the chart of it."""
    if scope.province is None:
        return [Reply(_("The plans are per province: ask with a province's staff role."), _menu())]
    year = t.today.year
    table = await standings(t.session, scope.province, year, tz, t.today)
    if table is None:
        return [
            Reply(
                _("No plan for {year} has been uploaded for {province} yet.").format(
                    year=year, province=_scope_name(Scope(scope.province))
                ),
                _menu(),
            )
        ]
    if scope.wards is not None:
        table = [s for s in table if set(s.unit.ward_codes) & scope.wards]
    title = _("🎯 {province}: the plan for {year}").format(
        province=_scope_name(Scope(scope.province)), year=year
    )
    if chart:
        rows = [
            charts.UnitProgress(s.unit.unit, s.target_units, s.figures.converted_units)
            for s in table
            if s.figures is not None
        ]
        picture = await charts.render_off_loop(charts.progress_chart, title, rows)
        return [Reply(title, _menu(), image=Document("progress.png", picture, "image/png"))]
    lines = [title]
    aim = plan_aim([s.unit for s in table])
    if aim is not None:
        lines.append(reach.aim_line(aim))
    lines += [_("Units of 250 ml (after conversion): collected / target, %"), ""]
    lines += [_standing_line(s) for s in table]
    behind = [s.unit.unit for s in table if s.behind]
    if behind:
        lines += [
            "",
            _("Behind the months planned so far: {units}").format(units=", ".join(behind)),
        ]
    buttons = [
        [
            StatsButton(StatsView.PROGRESS_CHART).button(_("📈 As a chart")),
            StatsButton(StatsView.MONTHLY_CHART).button(_("📅 By month")),
        ],
        export_row(ExportWhat.PROGRESS, named_period(PeriodName.YEAR, t.today)),
        *_menu(),
    ]
    return [Reply("\n".join(lines), buttons)]


async def _monthly(t: Turn, tz: ZoneInfo, scope: Scope) -> list[Reply]:
    """Units collected each month of this year against what the plan expects (the scope's)."""
    year = t.today.year
    done = await units_by_month(t.session, scope, year, tz)
    planned = {m: 0.0 for m in range(1, 13)}
    if scope.province is not None:
        found = await plan_of(t.session, scope.province, year)
        if found is not None:
            units = found[1]
            if scope.wards is not None:
                units = [u for u in units if set(u.ward_codes) & scope.wards]
            planned = planned_by_month(units, year)
    months = [charts.MonthFigures(year, m, done[m], planned[m]) for m in range(1, 13)]
    title = _("Donations by month, {year}: {scope}").format(year=year, scope=_scope_name(scope))
    picture = await charts.render_off_loop(charts.monthly_chart, title, months)
    return [Reply(title, _menu(), image=Document("months.png", picture, "image/png"))]


def _standing_line(standing: Standing) -> str:
    unit = standing.unit
    target = number_label(standing.target_units)
    rounds = ", " + _("{n} rounds planned").format(n=unit.rounds) if unit.rounds else ""
    if standing.population_share is not None:
        rounds += ", " + _("target {share} of the population").format(
            share=reach.share_label(standing.population_share)
        )
    if standing.figures is None:
        return "• " + _(
            "{unit}: target {target}{rounds}; its drives are not tied to a ward"
        ).format(unit=unit.unit, target=target, rounds=rounds)
    done = number_label(round(standing.figures.converted_units, 1))
    mark = "⚠️ " if standing.behind else "• "
    return mark + _("{unit}: {done} / {target} ({percent}), {held} drives{rounds}").format(
        unit=unit.unit,
        done=done,
        target=target,
        percent=_percent(standing.percent),
        held=number_label(standing.figures.drives),
        rounds=rounds,
    )
