"""/stats exports: a period's donations and the progress against the plan as CSV and Excel, a
drive's sign-ups as Excel; names and phones only for who may see them; the scope from the
person's roles, never from the button; every export audited; a large one built by the
scheduler's pass and delivered once through the outbox, also across a restart."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from models import AuditEntry, Donor, ExportJob, OutboxMessage, RoleGrant
from models.database import Database
from models.donations import CheckinOutcome
from models.exports import ExportStatus
from models.outbox import DeliveryStatus
from scheduler.sender import OutboxSender, count_by_status
from services.chat import ChatService
from services.conversation.dialog import Document, Outcome, Reply
from services.core.log_privacy import QUIET_LIBRARIES
from services.donors import donor_store
from services.roles import access
from services.stats import export_files, export_jobs
from services.stats.export_buttons import ExportFormat, ExportWhat, StatsExport
from services.stats.plan_file import read_plan
from services.stats.plan_store import replace_plan
from tests.conftest import ADMIN
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN, check_in, make_donor, make_drive
from tests.support.outcomes import offered, refusals
from tests.support.people import Person, consent, make_leader, make_staff, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DONG_HA, DONG_HOI = "19333", "18880"
FORMULA = '=HYPERLINK("http://x")'


async def desk_day(service: ChatService, db: Database) -> tuple[int, int]:
    """Today: a drive in Đông Hà (350 ml, 450 ml, a no-show, a walk-in not in the bot with
    250 ml) and one in Đồng Hới (250 ml); one donor's name is a formula."""
    today = service.today()
    here = await make_drive(db, today, DONG_HA)
    there = await make_drive(db, today, DONG_HOI)
    first = await make_donor(db, 0)
    async with db.session() as session:
        donor = await session.get(Donor, first)
        assert donor is not None
        donor.full_name, donor.phone_e164 = FORMULA, "+84912345678"
        session.add(donor)
    await check_in(db, here, first, CheckinOutcome.DONATED, 350, day=today)
    await check_in(db, here, await make_donor(db, 1), CheckinOutcome.DONATED, 450, day=today)
    await check_in(db, here, await make_donor(db, 2), CheckinOutcome.NO_SHOW)
    await check_in(db, here, None, CheckinOutcome.DONATED, 250, day=today)
    await check_in(db, there, await make_donor(db, 9), CheckinOutcome.DONATED, 250, day=today)
    return here, there


async def staff_member(service: ChatService, db: Database, user_id: int, lang: str) -> Person:
    person = Person(service, user_id, lang)
    await person.say("/start")
    await person.tap(f"lang:{lang}")
    await person.tap(f"consent:{lang}:yes")
    await person.say("/cancel")
    await make_staff(db, user_id, PROVINCE)
    return person


async def leader_of(service: ChatService, db: Database, user_id: int, wards: list[str]) -> Person:
    person = Person(service, user_id, "en")
    await consent(person)
    await make_leader(db, user_id, PROVINCE, wards)
    return person


def export_buttons(outcome: Outcome) -> list[StatsExport]:
    return sorted(
        (b for b in offered(outcome) if isinstance(b, StatsExport)), key=lambda b: b.encode()
    )


def the_document(outcome: Outcome) -> Document:
    [document] = [r.document for r in outcome.replies if r.document is not None]
    return document


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def this_year(service: ChatService) -> tuple[date, date]:
    year = service.today().year
    return date(year, 1, 1), date(year, 12, 31)


async def audits(db: Database, action: str = "view_stats") -> list[AuditEntry]:
    async with db.session() as session:
        result = await session.exec(
            select(AuditEntry).where(col(AuditEntry.action) == action).order_by(col(AuditEntry.id))
        )
        return [e for e in result.all() if "export" in e.detail]


# ------------------------------------------------------------ files, columns, roles


async def test_staff_export_the_year_as_csv_with_names_and_phones_and_it_is_audited(
    service: ChatService, db: Database
) -> None:
    await desk_day(service, db)
    staff = await staff_member(service, db, 801, "vi")
    out = await staff.say("/stats")
    start, end = this_year(service)
    wanted = [
        StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end),
        StatsExport(ExportWhat.DONATIONS, ExportFormat.XLSX, start, end),
    ]
    assert export_buttons(out) == wanted
    labels = [b.label for r in out.replies for row in r.buttons for b in row]
    assert "⬇️ CSV" in labels and "⬇️ Excel" in labels

    out = await staff.tap(wanted[0].encode())
    document = the_document(out)
    assert document.filename == f"hien-mau-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    assert document.mime_type == "text/csv"
    rows = csv_rows(document.content)
    header = rows[0]
    assert header[:3] == ["Ngày", "Mã đợt hiến máu", "Địa điểm"]
    assert header[-2:] == ["Họ và tên", "Điện thoại"]
    assert len(rows) == 1 + 5  # every person at a desk: four donations and a no-show
    by_name = {r[-2]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    formula = by_name["'" + FORMULA]  # escaped: never a formula in the organiser's sheet
    assert formula["Điện thoại"] == "0912 345 678"
    assert formula["Thể tích (ml)"] == "350" and formula["Đơn vị 250 ml"] == "1.4"
    assert formula["Tại bàn tiếp đón"] == "đã hiến" and formula["Hình thức hiến"] == "Máu toàn phần"
    assert formula["Ngày"] == service.today().strftime("%d/%m/%Y")
    assert formula["Phường, xã"] == "Phường Đông Hà"
    assert formula["Lần đầu hay nhắc lại"] == "lần đầu"
    assert formula["Nguồn"] == "đăng ký qua bot"
    assert by_name["Người 1"]["Đơn vị 250 ml"] == "1.8"
    assert by_name["Khách vãng lai"]["Nguồn"] == "đến trực tiếp, chưa dùng bot"
    assert by_name["Khách vãng lai"]["Đơn vị 250 ml"] == "1"  # 250 ml: 1, not 1.0
    assert by_name["Người 2"]["Tại bàn tiếp đón"] == "không đến"
    assert by_name["Người 2"]["Thể tích (ml)"] == ""
    assert "5 dòng" in texts(out)

    [entry] = await audits(db)
    assert entry.actor == "telegram:801" and entry.scope == f"province {PROVINCE}"
    assert entry.detail["export"] == "donations" and entry.detail["format"] == "csv"
    assert entry.detail["rows"] == 5 and entry.detail["personal"] is True
    assert entry.detail["delivery"] == "reply"
    assert "Người" not in str(entry.detail) and "0912" not in str(entry.detail)


async def test_excel_has_dates_and_numbers_as_cells_and_headers_in_the_readers_language(
    service: ChatService, db: Database
) -> None:
    await desk_day(service, db)
    staff = await staff_member(service, db, 802, "en")
    start, end = this_year(service)
    out = await staff.tap(StatsExport(ExportWhat.DONATIONS, ExportFormat.XLSX, start, end).encode())
    document = the_document(out)
    assert document.filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
    assert sheet.title == "Donations"
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[0]
    assert header[:2] == ["Date", "Drive no."] and header[-2:] == ["Name", "Phone"]
    assert "Units of 250 ml" in header and "Volume (ml)" in header
    rows = [dict(zip(header, r, strict=True)) for r in values[1:]]
    formula = next(r for r in rows if r["Name"] == FORMULA)
    assert isinstance(formula["Date"], datetime) and formula["Date"].date() == service.today()
    assert formula["Volume (ml)"] == 350 and formula["Units of 250 ml"] == pytest.approx(1.4)
    assert isinstance(formula["Drive no."], int)
    assert formula["Kind"] == "Whole blood" and formula["First time or repeat"] == "first time"
    name_column = header.index("Name") + 1
    formula_row = values.index(next(v for v in values if v[name_column - 1] == FORMULA)) + 1
    assert sheet.cell(formula_row, name_column).data_type == "s"  # text, not a formula
    no_show = next(r for r in rows if r["Name"] == "Người 2")
    assert no_show["At the desk"] == "did not come" and no_show["Volume (ml)"] is None


async def test_a_leader_exports_only_their_wards_and_forged_buttons_are_refused(
    service: ChatService, db: Database
) -> None:
    here, there = await desk_day(service, db)
    leader = await leader_of(service, db, 803, [DONG_HA])
    start, end = this_year(service)
    csv_of = StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end)
    out = await leader.tap(csv_of.encode())
    rows = csv_rows(the_document(out).content)
    header = rows[0]
    assert header[-2:] == ["Name", "Phone"]  # they may see their drives' sign-ups
    assert len(rows) == 1 + 4
    assert {r[header.index("Wards")] for r in rows[1:]} == {"Phường Đông Hà"}
    assert {int(r[header.index("Drive no.")]) for r in rows[1:]} == {here}

    out = await leader.tap(f"st:drive:{here}")
    assert dataclasses.replace(csv_of, start=service.today(), end=service.today(), drive=here) in (
        export_buttons(out)
    )
    before = len(await audits(db))
    for forged in (
        dataclasses.replace(csv_of, ward=DONG_HOI),  # another club's ward
        dataclasses.replace(csv_of, drive=there),  # another club's drive
    ):
        out = await leader.tap(forged.encode())
        assert refusals(out) == {access.Action.VIEW_STATS}
        assert all(r.document is None for r in out.replies)
    out = await leader.tap(dataclasses.replace(csv_of, campaign="bogus").encode())
    assert "no longer active" in texts(out) and all(r.document is None for r in out.replies)
    out = await leader.tap(dataclasses.replace(csv_of, start=end, end=start).encode())
    assert all(r.document is None for r in out.replies)
    assert len(await audits(db)) == before  # nothing left, nothing audited

    out = await leader.tap(dataclasses.replace(csv_of, drive=here).encode())
    assert len(csv_rows(the_document(out).content)) == 1 + 4
    [*_, entry] = await audits(db)
    assert entry.scope == f"province {PROVINCE} / wards {DONG_HA}"
    assert entry.detail["drive_id"] == here

    citizen = Person(service, 804, "en")
    await consent(citizen)
    out = await citizen.tap(csv_of.encode())
    assert refusals(out) == {access.Action.VIEW_STATS}


async def test_names_and_phones_follow_the_sign_up_rule_and_the_private_chat(
    service: ChatService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await desk_day(service, db)
    leader = await leader_of(service, db, 805, [DONG_HA])
    start, end = this_year(service)
    data = StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end).encode()

    group = dataclasses.replace(leader.sender(), chat_id="-100123", private=False)
    out = await service.choice(group, data)
    header = csv_rows(the_document(out).content)[0]
    assert "Name" not in header and "Phone" not in header
    assert header[-1] == "Name and phone: not included (not for your role or this chat)"
    assert "Names and phone numbers are not included." in texts(out)

    # Were leaders not to see sign-ups, their exports would leave the names out.
    monkeypatch.setattr(
        access, "LEADER_ACTIONS", access.LEADER_ACTIONS - {access.Action.VIEW_SIGNUPS}
    )
    out = await leader.tap(data)
    rows = csv_rows(the_document(out).content)
    assert "Name" not in rows[0] and len(rows) == 1 + 4
    assert "Người 1" not in the_document(out).content.decode("utf-8-sig")
    entry = (await audits(db))[-1]
    assert entry.detail["personal"] is False

    admin = Person(service, ADMIN, "en")
    await consent(admin)
    out = await admin.tap(data)
    rows = csv_rows(the_document(out).content)
    assert rows[0][-2:] == ["Name", "Phone"] and len(rows) == 1 + 5


async def test_the_progress_table_as_excel_and_csv(service: ChatService, db: Database) -> None:
    await desk_day(service, db)
    year = service.today().year
    rows = read_plan(QUANG_TRI_PLAN.read_bytes(), "plan.tsv").rows
    async with db.session() as session:
        await replace_plan(session, PROVINCE, year, rows, "plan.tsv", "staff")
    staff = await staff_member(service, db, 806, "en")
    out = await staff.tap("st:progress")
    start, end = date(year, 1, 1), date(year, 12, 31)
    progress = StatsExport(ExportWhat.PROGRESS, ExportFormat.XLSX, start, end)
    assert progress in export_buttons(out)

    out = await staff.tap(progress.encode())
    document = the_document(out)
    assert document.filename == f"tien-do-{PROVINCE}-{year}.xlsx"
    sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header = values[0]
    assert header == [
        "Unit",
        "Population",
        "Target, bags (before conversion)",
        "Target, units of 250 ml (after conversion)",
        "Collected, bags (before conversion)",
        "Collected, units of 250 ml (after conversion)",
        "% of the target",
        "Rounds planned",
        "Drives held",
        "Behind the plan",
    ]
    table = {r[0]: dict(zip(header, r, strict=True)) for r in values[1:]}
    assert len(table) == 16
    dong_ha = table["TP. Đông Hà"]
    assert isinstance(dong_ha["Population"], int)
    assert dong_ha["Target, units of 250 ml (after conversion)"] == 1141
    assert dong_ha["Collected, bags (before conversion)"] == 3
    assert dong_ha["Collected, units of 250 ml (after conversion)"] == pytest.approx(4.2)
    assert dong_ha["% of the target"] == pytest.approx(round(100 * 4.2 / 1141, 1))
    assert dong_ha["Drives held"] == 1 and dong_ha["Behind the plan"] in ("yes", "no")
    assert table["Công An tỉnh"]["Collected, bags (before conversion)"] is None
    assert table["Công An tỉnh"]["Behind the plan"].startswith("not known")

    out = await staff.tap(dataclasses.replace(progress, format=ExportFormat.CSV).encode())
    csv_table = csv_rows(the_document(out).content)
    assert csv_table[0] == header and len(csv_table) == 17
    [dong_ha_csv] = [r for r in csv_table if r[0] == "TP. Đông Hà"]
    assert dong_ha_csv[3] == "1141" and dong_ha_csv[5] == "4.2"
    [*_, entry] = await audits(db)
    assert entry.detail["export"] == "progress" and entry.detail["rows"] == 16

    leader = await leader_of(service, db, 807, [DONG_HA])
    out = await leader.tap(progress.encode())
    sheet = load_workbook(io.BytesIO(the_document(out).content)).worksheets[0]
    units = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert units == ["TP. Đông Hà"]  # their wards' units only


async def test_a_drives_sign_ups_as_excel(service: ChatService, db: Database) -> None:
    here, _there = await desk_day(service, db)
    leader = await leader_of(service, db, 808, [DONG_HA])
    out = await leader.tap(f"sul:{here}")
    assert f"sul:{here}:1:1" in [b.data for r in out.replies for row in r.buttons for b in row]
    out = await leader.tap(f"sul:{here}:1:1")
    document = the_document(out)
    assert document.filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(document.content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:3] == ["No.", "Name", "Phone"]
    assert values[1][0] == 1 and isinstance(values[1][0], int)
    by_name = {v[1]: v for v in values[1:]}
    assert by_name[FORMULA][-1] == 350
    [entry] = await audits(db, "view_signups")
    assert entry.detail["export"] == "xlsx" and entry.detail["rows"] == len(values) - 1
    out = await leader.tap(f"sul:{here}:1")  # the CSV button already in people's chats
    assert the_document(out).filename.endswith(".csv")


# ------------------------------------------------------------ large exports as jobs


@dataclasses.dataclass
class Recorder:
    """A transport that keeps what it was asked to send."""

    sent: list[tuple[str, Reply]] = dataclasses.field(default_factory=list)

    async def send(self, chat_id: str, reply: Reply) -> int:
        self.sent.append((chat_id, reply))
        return len(self.sent)

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        return None


async def deliver(db: Database, transport: Recorder) -> None:
    """Run the outbox sender until nothing is pending or sending."""
    sender = OutboxSender(db, transport, tz=TZ, idle_poll=0.05, rate=200.0)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        for _ in range(200):
            counts = await count_by_status(db)
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task


def small_exports(db: Database) -> ChatService:
    """The chat service with a threshold of two rows: every export here is a job."""
    return ChatService(
        db,
        organization="Hội Chữ thập đỏ",
        tz=TZ,
        admin_ids=frozenset({str(ADMIN)}),
        export_inline_rows=2,
    )


async def jobs(db: Database) -> list[ExportJob]:
    async with db.session() as session:
        return list((await session.exec(select(ExportJob).order_by(col(ExportJob.id)))).all())


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.exec(select(OutboxMessage))).all())


def files(transport: Recorder) -> list[Document]:
    return [r.document for _chat, r in transport.sent if r.document is not None]


async def test_a_large_export_is_queued_built_by_the_scheduler_and_delivered_once(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    service = small_exports(db)
    await desk_day(service, db)
    staff = await staff_member(service, db, 811, "en")
    start, end = this_year(service)
    data = StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end).encode()
    out = await staff.tap(data)
    assert "is being prepared; it will arrive here as a file" in texts(out)
    assert "(5 rows)" in texts(out) and all(r.document is None for r in out.replies)
    [job] = await jobs(db)
    assert job.status == ExportStatus.PENDING and job.chat_id == "811"
    assert "Người" not in str(job.params)
    out = await staff.tap(data)  # a second tap while it is prepared: no second job
    assert "already being prepared" in texts(out)
    assert len(await jobs(db)) == 1
    [queued] = await audits(db)
    assert queued.detail["delivery"] == "queued" and queued.detail["job"] == job.id

    caplog.set_level(logging.DEBUG)  # every line of ours, the libraries held as bot.py holds them
    for name, floor in QUIET_LIBRARIES.items():
        caplog.set_level(floor, logger=name)
    assert await service.build_exports() == 1
    [job] = await jobs(db)
    assert job.status == ExportStatus.DONE and job.rows == 5 and job.attempts == 1
    [row] = await outbox_rows(db)
    assert row.dedupe_key == f"export:{job.id}" and row.message_key == export_jobs.READY
    assert row.document is not None and "content_b64" in row.document
    logged = caplog.text
    assert "Người" not in logged and row.document["content_b64"][:40] not in logged
    assert FORMULA not in logged and "0912" not in logged
    [_queued, built] = await audits(db)
    assert built.detail["delivery"] == "built" and built.detail["rows"] == 5
    assert built.detail["personal"] is True and built.actor == "telegram:811"

    transport = Recorder()
    await deliver(db, transport)
    [text, (chat, file)] = transport.sent
    assert chat == "811" and "Your export is ready: 5 rows." in text[1].text
    assert file.document is not None
    assert len(csv_rows(file.document.content)) == 1 + 5
    assert await service.build_exports() == 0  # nothing left: never built or sent again
    await deliver(db, transport)
    assert len(files(transport)) == 1
    [row] = await outbox_rows(db)
    assert row.status == DeliveryStatus.SENT


async def test_a_job_survives_a_crash_pending_or_while_it_was_being_built(
    db: Database,
) -> None:
    service = small_exports(db)
    await desk_day(service, db)
    staff = await staff_member(service, db, 812, "vi")
    start, end = this_year(service)
    await staff.tap(StatsExport(ExportWhat.DONATIONS, ExportFormat.XLSX, start, end).encode())
    await staff.tap(StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end).encode())
    first, second = await jobs(db)
    # The process died while building the first (claimed, never finished) …
    now = datetime.now(UTC)
    async with db.session() as session:
        claimed = await export_jobs.claim(session, first.id or 0, now)
    assert claimed is not None and claimed.attempts == 1
    # … and comes back: the pending one is built at once, the lost one once its lease is over.
    restarted = small_exports(db)
    assert await export_jobs.run_next(db, TZ, restarted.admin_ids, now=now) == second.id
    assert await export_jobs.run_next(db, TZ, restarted.admin_ids, now=now) is None
    later = now + export_jobs.LEASE + timedelta(seconds=1)
    assert await export_jobs.run_next(db, TZ, restarted.admin_ids, now=later) == first.id
    first, second = await jobs(db)
    assert first.status == second.status == ExportStatus.DONE and first.attempts == 2
    # The first process finishing after all (its claim was taken over) queues nothing.
    async with db.session() as session:
        built = export_files.Built(Document("x.xlsx", b"x"), 1, False)
        request = export_jobs.DonationsRequest.of(claimed)
        assert not await export_jobs._deliver(
            session, claimed, built, request, None, "vi", datetime.now(UTC)
        )
    assert sorted(r.dedupe_key or "" for r in await outbox_rows(db)) == [
        f"export:{first.id}",
        f"export:{second.id}",
    ]
    transport = Recorder()
    await deliver(db, transport)
    sent = files(transport)
    assert sorted(d.filename[-4:] for d in sent) == [".csv", "xlsx"]
    workbook = load_workbook(
        io.BytesIO(next(d for d in sent if d.filename.endswith("xlsx")).content)
    )
    assert workbook.worksheets[0].title == "Lượt hiến máu"  # in the person's language
    texts_sent = [r.text for _chat, r in transport.sent if r.text]
    assert all("Tệp xuất dữ liệu của bạn đã sẵn sàng: 5 dòng." in t for t in texts_sent)
    # A restart of the sender after delivery sends nothing again.
    await deliver(db, transport)
    assert len(files(transport)) == 2


async def test_a_failed_build_tells_the_person_in_their_language(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = small_exports(db)
    await desk_day(service, db)
    start, end = this_year(service)
    data = StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end).encode()
    english = await staff_member(service, db, 813, "en")
    vietnamese = await staff_member(service, db, 814, "vi")
    await english.tap(data)
    await vietnamese.tap(data)

    # Over Telegram's limit (here: 100 bytes) → told at once, both in their own language.
    handled = await export_jobs.run_pending(db, TZ, service.admin_ids, max_bytes=100)
    assert handled == 2
    assert {(j.status, j.error) for j in await jobs(db)} == {(ExportStatus.FAILED, "too_large")}
    rows = await outbox_rows(db)
    assert sorted(r.dedupe_key or "" for r in rows) == sorted(
        f"export-failed:{j.id}" for j in await jobs(db)
    )
    assert all(r.document is None for r in rows)
    transport = Recorder()
    await deliver(db, transport)
    said = {chat: reply.text for chat, reply in transport.sent}
    assert "too large to send" in said["813"] and "50 MB" in said["813"]
    assert "quá lớn để gửi" in said["814"]

    # A role revoked between the request and the build: no file, and the person is told.
    await english.tap(data)
    async with db.session() as session:
        for grant in (await session.exec(select(RoleGrant))).all():
            if grant.external_id == "813":
                await session.delete(grant)
    assert await service.build_exports() == 1
    [*_, job] = await jobs(db)
    assert job.status == ExportStatus.FAILED and job.error == "not_allowed"

    # A build that keeps failing is retried, then given up, and said so.
    await vietnamese.tap(data)

    async def broken(*args: Any, **kwargs: Any) -> export_files.Built:
        raise RuntimeError("disk full")

    monkeypatch.setattr(export_files, "build_donations", broken)
    for attempt in range(1, export_jobs.MAX_ATTEMPTS + 1):
        await export_jobs.run_next(db, TZ, service.admin_ids)
        [*_, job] = await jobs(db)
        assert job.attempts == attempt
    assert job.status == ExportStatus.FAILED and job.error == "error"
    transport = Recorder()
    await deliver(db, transport)
    said = {chat: reply.text for chat, reply in transport.sent}
    assert "thử lại sau" in said["814"]
    assert "no longer cover" in said["813"]


async def test_a_persons_jobs_go_with_their_data(db: Database) -> None:
    service = small_exports(db)
    await desk_day(service, db)
    staff = await staff_member(service, db, 815, "en")
    start, end = this_year(service)
    await staff.tap(StatsExport(ExportWhat.DONATIONS, ExportFormat.CSV, start, end).encode())
    assert len(await jobs(db)) == 1
    async with db.session() as session:
        donor = await donor_store.get_donor(session, "telegram", "815")
        assert donor is not None and donor.id is not None
        await donor_store.delete_donor(session, donor.id)
    assert await jobs(db) == []
