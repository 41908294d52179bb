"""The weekly digest of /stats, on both databases, with a controllable clock: Monday 08:00 and
not a minute before, once per person and week whatever runs twice, a digest due while the bot
was down (that week only), off, a lost role, /stop, the figures it carries, the language and
the chart at send time (through the real sender and the fake Bot API)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlmodel import col, delete, select
from telegram import Bot

from handlers.telegram.transport import TelegramTransport
from models import DigestSubscription, Donor, OutboxMessage, RoleGrant
from models.database import Database
from models.donations import CheckinOutcome, DonationSource
from models.donor import DonationKind
from models.outbox import DeliveryStatus
from scheduler.sender import OutboxSender, count_by_status
from services.chat import ChatService
from services.core.i18n import get_locale
from services.donations import history
from services.outreach import messages, outbox
from services.stats import charts, digest, subscriptions
from services.stats.digest import DigestResult, dedupe_key, reported_week, sweep_digests
from services.stats.figures import Period
from services.stats.plan_file import read_plan
from services.stats.plan_store import replace_plan
from services.stats.subscriptions import DIGEST, next_due
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN, TZ, check_in, make_donor, make_drive
from tests.support.e2e import TOKEN
from tests.support.fakebot import FakeBotApi
from tests.support.outcomes import refusals
from tests.support.people import Person, buttons, consent, make_leader, make_staff, texts

QUIET = (time(21), time(7))
DONG_HA, DONG_HOI = "19333", "18880"
WEEK = Period(date(2026, 3, 2), date(2026, 3, 8))  # Monday to Sunday, ISO week 10
MONDAY = date(2026, 3, 9)  # the digest of WEEK falls due at 08:00
STAFF, LEADER = 801, 802


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local moment, in UTC (the sweep's clock)."""
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


async def donor_id_of(db: Database, user_id: int) -> int:
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()
        assert donor.id is not None
        return donor.id


async def staff_member(service: ChatService, db: Database, user_id: int = STAFF) -> int:
    """Staff of Quảng Trị, consented, in English."""
    await consent(Person(service, user_id, "en"))
    await make_staff(db, user_id, PROVINCE)
    return await donor_id_of(db, user_id)


async def subscribe_at(db: Database, donor_id: int, now: datetime) -> None:
    async with db.session() as session:
        await subscriptions.subscribe(session, donor_id, now, TZ)


async def sweep(db: Database, now: datetime) -> DigestResult:
    async with db.session() as session:
        return await sweep_digests(session, now, TZ, QUIET)


async def digests(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.message_key) == DIGEST)
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def subscription(db: Database, donor_id: int) -> DigestSubscription | None:
    async with db.session() as session:
        return await session.get(DigestSubscription, donor_id)


async def the_week(db: Database) -> None:
    """The 2026 plan, and the desks of WEEK, of the week before and of the Monday after.

    In WEEK: Đông Hà on Tuesday (a repeat donor 350 ml, a new one 450 ml, a walk-in 250 ml, one
    deferred, one who did not come), Đồng Hới on Saturday (250 ml). The week before: Đông Hà,
    350 ml. The Monday after: Đông Hà, 450 ml (in no figure of the digest)."""
    table = QUANG_TRI_PLAN.read_bytes().replace(b"2021", b"2026").replace(b"2020", b"2025")
    rows = read_plan(table, "plan.tsv").rows
    async with db.session() as session:
        await replace_plan(session, PROVINCE, 2026, rows, "plan.tsv", "staff")
    regular = await make_donor(db, 1)
    async with db.session() as session:  # gave in 2025: a repeat donor this year
        donor = await session.get(Donor, regular)
        assert donor is not None
        await history.record(
            session,
            donor,
            day=date(2025, 9, 1),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=350,
            source=DonationSource.SELF_REPORTED,
            recorded_by="donor",
            today=date(2025, 9, 1),
        )
    tuesday = await make_drive(db, date(2026, 3, 3), DONG_HA)
    day = date(2026, 3, 3)
    await check_in(db, tuesday, regular, CheckinOutcome.DONATED, 350, day=day)
    await check_in(db, tuesday, await make_donor(db, 2), CheckinOutcome.DONATED, 450, day=day)
    await check_in(db, tuesday, None, CheckinOutcome.DONATED, 250, day=day)
    await check_in(db, tuesday, await make_donor(db, 3), CheckinOutcome.DEFERRED, day=day)
    await check_in(db, tuesday, await make_donor(db, 4), CheckinOutcome.NO_SHOW, day=day)
    saturday = await make_drive(db, date(2026, 3, 7), DONG_HOI)
    five = await make_donor(db, 5)
    await check_in(db, saturday, five, CheckinOutcome.DONATED, 250, day=date(2026, 3, 7))
    before = await make_drive(db, date(2026, 2, 24), DONG_HA)
    six = await make_donor(db, 6)
    await check_in(db, before, six, CheckinOutcome.DONATED, 350, day=date(2026, 2, 24))
    after = await make_drive(db, MONDAY, DONG_HA)
    seven = await make_donor(db, 7)
    await check_in(db, after, seven, CheckinOutcome.DONATED, 450, day=MONDAY)


# ------------------------------------------------------------ the switch, through the chat


async def test_staff_turn_it_on_and_off_under_stats_and_a_citizen_may_not(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    staff = Person(service, STAFF, "en")
    out = await staff.say("/stats")
    assert "digest:1" in buttons(out) and "digest:0" not in buttons(out)
    out = await staff.tap("digest:1")
    assert "every Monday at 08:00" in texts(out) and "Quảng Trị" in texts(out)
    row = await subscription(db, donor_id)
    assert row is not None and row.due_at == next_due(row.subscribed_at, TZ)
    due = row.due_at.astimezone(TZ)
    assert (due.weekday(), due.hour, due.minute) == (0, 8, 0)
    await staff.tap("digest:1")  # a second tap changes nothing
    out = await staff.say("/stats")
    assert "digest:0" in buttons(out) and "digest:1" not in buttons(out)
    out = await staff.tap("digest:0")
    assert "digest is off" in texts(out)
    assert await subscription(db, donor_id) is None

    citizen = Person(service, 803, "en")
    await consent(citizen)
    out = await citizen.tap("digest:1")
    assert refusals(out) == {"view_stats"}
    assert await subscription(db, await donor_id_of(db, 803)) is None


def test_the_week_reported_and_the_next_moment() -> None:
    assert next_due(local(date(2026, 3, 5), 10), TZ) == local(MONDAY, 8)
    assert next_due(local(MONDAY, 7, 59), TZ) == local(MONDAY, 8)
    assert next_due(local(MONDAY, 8), TZ) == local(MONDAY + timedelta(days=7), 8)
    assert reported_week(local(MONDAY, 8), TZ) == (WEEK, True)
    assert reported_week(local(MONDAY + timedelta(days=6), 23), TZ) == (WEEK, True)
    # Monday of the week after, before 08:00: the latest due was WEEK's, a week ago.
    assert reported_week(local(MONDAY + timedelta(days=7), 7), TZ) == (WEEK, False)
    assert dedupe_key(12, WEEK) == "digest:12:2026-W10"


# ------------------------------------------------------------ the moment, exactly once


async def test_monday_0800_sends_once_and_not_a_minute_before(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))  # a Thursday
    assert (await sweep(db, local(date(2026, 3, 8), 23, 59))).claimed == 0
    assert (await sweep(db, local(MONDAY, 7, 59))).claimed == 0
    assert await digests(db) == []
    first = await sweep(db, local(MONDAY, 8))
    second = await sweep(db, local(MONDAY, 8, 1))
    assert (first.queued, second.claimed) == (1, 0)
    [row] = await digests(db)
    assert row.dedupe_key == f"digest:{donor_id}:2026-W10" and row.chat_id == str(STAFF)
    assert row.params is not None and row.params["start"] == "2026-03-02"
    stored = await subscription(db, donor_id)
    assert stored is not None and stored.due_at == local(MONDAY + timedelta(days=7), 8)
    # Even were the moment put back (nothing commits one without the other), the key holds.
    async with db.session() as session:
        back = await session.get(DigestSubscription, donor_id)
        assert back is not None
        back.due_at = local(MONDAY, 8)
        session.add(back)
    again = await sweep(db, local(MONDAY, 8, 2))
    assert (again.claimed, again.queued) == (1, 0)
    assert len(await digests(db)) == 1
    # The next Monday, the next week.
    assert (await sweep(db, local(MONDAY + timedelta(days=7), 8))).queued == 1
    keys = [r.dedupe_key for r in await digests(db)]
    assert keys == [f"digest:{donor_id}:2026-W10", f"digest:{donor_id}:2026-W11"]


async def test_the_scheduler_pass_through_the_chat_service(
    service: ChatService, db: Database
) -> None:
    ids = [await staff_member(service, db, STAFF + i * 10) for i in range(3)]
    for donor_id in ids:
        await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    assert await service.sweep_digests(local(MONDAY, 8), batch=2) == 3  # two transactions
    assert await service.sweep_digests(local(MONDAY, 8)) == 0
    assert len(await digests(db)) == 3


async def test_a_pass_that_fails_before_commit_leaves_the_digest_due(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            result = await sweep_digests(session, local(MONDAY, 8), TZ, QUIET)
            assert result.queued == 1
            raise RuntimeError("killed before the commit")
    assert await digests(db) == []
    stored = await subscription(db, donor_id)
    assert stored is not None and stored.due_at == local(MONDAY, 8)
    assert (await sweep(db, local(MONDAY, 8, 1))).queued == 1


async def test_two_passes_at_once_queue_each_digest_once(
    service: ChatService, db: Database
) -> None:
    ids = [await staff_member(service, db, STAFF + i * 10) for i in range(3)]
    for donor_id in ids:
        await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    now = local(MONDAY, 8)
    results = await asyncio.gather(sweep(db, now), sweep(db, now))
    assert sum(r.queued for r in results) == 3
    assert sorted(r.dedupe_key or "" for r in await digests(db)) == sorted(
        dedupe_key(i, WEEK) for i in ids
    )


async def test_a_second_scheduler_skips_the_subscriptions_the_first_holds(
    service: ChatService, db: Database
) -> None:
    """One pass claims and holds its transaction open; another runs meanwhile (a second
    scheduler process). On PostgreSQL the second truly runs while the first holds the rows (SKIP
    LOCKED: it neither waits nor takes them); on SQLite it waits for the first's commit, then
    finds their moments moved on."""
    ids = [await staff_member(service, db, STAFF + i * 10) for i in range(2)]
    for donor_id in ids:
        await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    now = local(MONDAY, 8)
    postgres = db.engine.dialect.name == "postgresql"
    claimed, release = asyncio.Event(), asyncio.Event()

    async def holder() -> DigestResult:
        async with db.session() as session:
            result = await sweep_digests(session, now, TZ, QUIET)
            claimed.set()
            await release.wait()
        return result

    async def other() -> DigestResult:
        await claimed.wait()
        if not postgres:
            release.set()  # SQLite: the second waits on the first's write lock
        result = await sweep(db, now)
        release.set()  # PostgreSQL: finished while the first still held its rows
        return result

    first, second = await asyncio.wait_for(asyncio.gather(holder(), other()), timeout=30)
    assert (first.queued, second.queued) == (2, 0)
    assert len(await digests(db)) == 2


async def test_a_digest_due_while_the_bot_was_down_goes_once_that_week_only(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    # Down from Sunday to Wednesday: WEEK's digest goes when the bot is back.
    back = await sweep(db, local(date(2026, 3, 11), 15))
    assert back.queued == 1 and [r.dedupe_key for r in await digests(db)] == [
        dedupe_key(donor_id, WEEK)
    ]
    stored = await subscription(db, donor_id)
    assert stored is not None and stored.due_at == local(MONDAY + timedelta(days=7), 8)

    # Down a whole week: back on Monday 07:00, the week before last is not sent; at 08:00 the
    # last week's is.
    later = MONDAY + timedelta(days=14)
    stale = await sweep(db, local(later, 7))
    assert (stale.claimed, stale.queued, stale.skipped) == (1, 0, 1)
    assert (await sweep(db, local(later, 8))).queued == 1
    keys = [r.dedupe_key for r in await digests(db)]
    assert keys == [dedupe_key(donor_id, WEEK), f"digest:{donor_id}:2026-W12"]

    # Down ten days: only the digest of the week just ended goes.
    await sweep(db, local(later + timedelta(days=10), 9))
    assert [r.dedupe_key for r in await digests(db)][-1] == f"digest:{donor_id}:2026-W13"
    assert len(await digests(db)) == 3


# ------------------------------------------------------------ who gets nothing


async def test_off_lost_role_and_stop_get_nothing(service: ChatService, db: Database) -> None:
    off, revoked, stopped = [await staff_member(service, db, STAFF + i * 10) for i in range(3)]
    for donor_id in (off, revoked, stopped):
        await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    await Person(service, STAFF, "en").tap("digest:0")
    async with db.session() as session:
        await session.exec(delete(RoleGrant).where(col(RoleGrant.external_id) == str(STAFF + 10)))
    await Person(service, STAFF + 20, "en").say("/stop")
    result = await sweep(db, local(MONDAY, 8))
    assert (result.claimed, result.queued, result.skipped, result.ended) == (2, 0, 1, 1)
    assert await digests(db) == []
    assert await subscription(db, off) is None
    assert await subscription(db, revoked) is None  # the role went: so does the digest
    stopped_row = await subscription(db, stopped)  # /start again and the digests resume
    assert stopped_row is not None and stopped_row.due_at == local(MONDAY + timedelta(days=7), 8)


async def test_turning_it_off_drops_a_digest_queued_but_not_sent(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    assert (await sweep(db, local(MONDAY, 8))).queued == 1
    await Person(service, STAFF, "en").tap("digest:0")
    [row] = await digests(db)
    assert row.status == DeliveryStatus.SUPERSEDED


async def test_forget_ends_the_subscription_with_the_person(
    service: ChatService, db: Database
) -> None:
    donor_id = await staff_member(service, db)
    staff = Person(service, STAFF, "en")
    await staff.tap("digest:1")
    assert await subscription(db, donor_id) is not None
    await staff.say("/forget")
    await staff.tap("forget:yes")
    assert await subscription(db, donor_id) is None
    assert (await sweep(db, local(MONDAY, 8) + timedelta(days=400))).claimed == 0


# ------------------------------------------------------------ what it says


async def test_the_figures_of_the_week_and_the_year_against_the_plan(
    service: ChatService, db: Database
) -> None:
    await the_week(db)
    staff = await staff_member(service, db)
    await consent(Person(service, LEADER, "en"))
    await make_leader(db, LEADER, PROVINCE, [DONG_HA])
    leader = await donor_id_of(db, LEADER)
    for donor_id in (staff, leader):
        await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    assert (await sweep(db, local(MONDAY, 8))).queued == 2
    by_chat = {r.chat_id: r for r in await digests(db)}

    province = by_chat[str(STAFF)]
    assert province.params is not None
    said = messages.render(DIGEST, province.params, "en").text
    assert "The week in figures: Tỉnh Quảng Trị, 02/03/2026–08/03/2026" in said
    assert "Drives: 2" in said
    assert "Sign-ups: 5 (waiting list: 0)" in said
    assert "At the desk: 6 — donated 4, deferred on site 1, did not come 1" in said
    assert "Bags: 4 (250 ml: 2, 350 ml: 1, 450 ml: 1) = 5.2 units of 250 ml" in said
    assert "Repeat donors: 1 (25 %); new donors: 3" in said
    assert "Of them not registered with the bot: 1" in said
    # The year so far: the week before counts, the Monday after does not.
    assert "This year up to 08/03/2026: 6.6 units of 250 ml" in said
    # The months begun by the Sunday expect 3,818.3 of the 11,200 units (by hand from the table).
    assert "Against the plan for 2026: 6.6 / 11,200 (0.1 %)" in said
    assert "expect 3,818.3 (34.1 %)" in said
    assert "Donors reached: 5 of 627,028 people (0.00 %)" in said
    assert province.params["actual_by_month"][1:3] == [1.4, 5.2]  # February, March
    assert round(sum(province.params["planned_by_month"]), 6) == 11200

    wards = by_chat[str(LEADER)]
    assert wards.params is not None
    worded = messages.render(DIGEST, wards.params, "vi")
    assert "Số liệu tuần qua: Phường Đông Hà" in worded.text
    assert "Túi máu: 3 (250 ml: 1, 350 ml: 1, 450 ml: 1) = 4,2 đơn vị 250 ml" in worded.text
    assert "Người hiến nhắc lại: 1 (33,3 %)" in worded.text
    assert "Số người đã hiến máu" not in worded.text  # the plan gives no population for one ward
    # A leader's plan is their wards' units: TP. Đông Hà's 1,141 (March of three months begun).
    assert "/ 1.141 (" in worded.text and "380,3" in worded.text
    data = [b.data for row in worded.buttons for b in row]
    assert data == ["st:period:year", "digest:0"]


# ------------------------------------------------------------ through the sender


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi(per_chat_burst=1) as fake:
        yield fake


async def deliver_all(db: Database, server: FakeBotApi, within: float = 30.0) -> OutboxSender:
    """Run the real sender until nothing is pending or sending, then stop it."""
    bot = Bot(TOKEN, base_url=server.base_url)
    sender = OutboxSender(db, TelegramTransport(bot), tz=TZ, idle_poll=0.1)
    stop = asyncio.Event()
    async with bot:
        task = asyncio.create_task(sender.run(stop))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while loop.time() < deadline:
                counts = await count_by_status(db)
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"outbox not drained: {await count_by_status(db)}")
        finally:
            stop.set()
            await task
    return sender


async def test_worded_and_drawn_at_send_time_in_the_readers_language_off_the_loop(
    service: ChatService, db: Database, server: FakeBotApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    await the_week(db)
    donor_id = await staff_member(service, db)  # English when queued…
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    assert (await sweep(db, local(MONDAY, 8))).queued == 1
    [row] = await digests(db)
    assert "The week in figures" in row.text  # the stored fallback, in English
    assert row.document is None  # the row holds the figures, not a picture
    await Person(service, STAFF, "en").tap("setlang:vi")  # …Vietnamese when sent
    drawn: list[tuple[str, bool]] = []
    real_chart = charts.monthly_chart

    def watched(title: str, months: Any) -> bytes:
        drawn.append((str(get_locale()), threading.current_thread() is threading.main_thread()))
        return real_chart(title, months)

    monkeypatch.setattr(charts, "monthly_chart", watched)
    sender = await deliver_all(db, server)
    assert sender.stats.sent == 1
    text, photo = server.messages_to(STAFF)[-2:]
    assert "Số liệu tuần qua: Tỉnh Quảng Trị" in text["text"]
    assert "Túi máu: 4 (250 ml: 2, 350 ml: 1, 450 ml: 1) = 5,2 đơn vị 250 ml" in text["text"]
    assert "Số người đã hiến máu: 5 trên 627.028 dân (0,00 %)" in text["text"]
    assert photo["photo_name"] == "digest.png" and "text" not in photo
    assert drawn == [("vi", False)]  # in the reader's language, in a worker thread
    [row] = await digests(db)
    assert row.status == DeliveryStatus.SENT


async def test_a_failed_picture_is_retried_without_repeating_the_text(
    service: ChatService, db: Database, server: FakeBotApi
) -> None:
    donor_id = await staff_member(service, db)
    await subscribe_at(db, donor_id, local(date(2026, 3, 5), 10))
    assert (await sweep(db, local(MONDAY, 8))).queued == 1
    server.fail_next("sendPhoto", 502, "Bad Gateway", chat_id=STAFF)
    sender = await deliver_all(db, server, within=60)
    assert sender.stats.transient == 1 and sender.stats.sent == 1
    sent = server.messages_to(STAFF)
    digest_parts = [m for m in sent if "photo" in m or "week in figures" in m.get("text", "")]
    assert [("text" in m, "photo" in m) for m in digest_parts] == [(True, False), (False, True)]
    [row] = await digests(db)
    assert row.status == DeliveryStatus.SENT and row.attempts == 1
    assert outbox.parts_sent(row) == 1


def test_the_kind_and_its_picture_are_declared() -> None:
    assert messages.known(DIGEST) and messages.has_picture(DIGEST)
    assert digest.BATCH > 0


def test_the_scheduler_runs_the_pass_every_minute_and_at_start(service: ChatService) -> None:
    from scheduler.jobs import DIGEST_SECONDS, housekeeping

    job = housekeeping(service).get_job("sweep_digests")
    assert job is not None and job.trigger.interval == timedelta(seconds=DIGEST_SECONDS)
    assert job.next_run_time is not None  # once at start: what fell due while it was down
