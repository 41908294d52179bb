"""The console mode: the first minute, map pins and files, several consoles on one database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select
from telegram.ext import Application

import bot
from handlers.console.channel import ConsoleBotApi, ConsoleRequest, converse
from handlers.telegram.transport import TelegramTransport
from models import Donor, Drive, OutboxMessage
from models.database import Database
from models.drives import DriveStatus
from scheduler.sender import OutboxSender
from services.chat import ChatService
from services.config import Settings
from services.drives import drive_store
from services.outreach import outbox
from tests.support.people import Person, register

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Line = str | Callable[[], Awaitable[str | None]]


def settings_for(database_url: str) -> Settings:
    """Settings of a test run: no .env, no key file written into the repository."""
    return Settings(_env_file=None, database_url=database_url, pseudonym_key="test-key")  # type: ignore[call-arg]


class Script:
    """Typed lines, given one by one to the console; a callable line is computed when asked."""

    def __init__(self, *lines: Line) -> None:
        self.lines = list(lines)

    async def __call__(self, prompt: str) -> str | None:
        if not self.lines:
            return None  # Ctrl-D
        line = self.lines.pop(0)
        return line if isinstance(line, str) else await line()


@asynccontextmanager
async def console(
    db: Database, user_id: int, lang: str = "en"
) -> AsyncIterator[tuple[Application, ConsoleBotApi, list[str]]]:
    """The real application behind a console, as bot.run_console builds it."""
    shown: list[str] = []
    api = ConsoleBotApi(shown.append, user_id=user_id, language_code=lang)
    settings = settings_for("sqlite+aiosqlite://")
    app = bot.build_application(settings, token=bot.CONSOLE_TOKEN, request=ConsoleRequest(api))
    app.bot_data["chat"] = bot.Runtime(settings, db).chat_service()
    async with app:
        yield app, api, shown


def tap(api: ConsoleBotApi, data_prefix: str) -> Callable[[], Awaitable[str]]:
    """The number to type for the inline button whose data starts with `data_prefix`."""

    async def number() -> str:
        for index, choice in enumerate(api.choices, start=1):
            if choice.data.startswith(data_prefix):
                return str(index)
        raise AssertionError(f"no button {data_prefix!r} among {[c.data for c in api.choices]}")

    return number


# ------------------------------------------------------------ 20. the first minute


async def test_console_greets_before_the_first_line(db: Database) -> None:
    async with console(db, user_id=41) as (app, api, shown):
        await converse(app, api, Script())  # the person has typed nothing yet
    output = "\n".join(shown)
    assert "Please choose your language." in output  # the greeting a new person gets
    assert "[1] Tiếng Việt" in output and "[2] English" in output


async def test_the_greeting_leads_into_registration(db: Database) -> None:
    async with console(db, user_id=42) as (app, api, shown):
        await converse(app, api, Script("2"))  # English, from the greeting's buttons
    assert "I agree" in "\n".join(shown)


def test_readme_second_person_command_works_outside_the_venv() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "./run.sh --console --lang en --user-id 2" in readme
    assert "python bot.py --console" not in readme  # needs the venv's python
    run_sh = (ROOT / "run.sh").read_text(encoding="utf-8")
    assert 'bot.py "$@"' in run_sh


def test_setup_keeps_pip_quiet_but_shows_errors() -> None:
    # -qq leaves pip's ERROR lines and hides its warnings and the build backend's banners.
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    installs = [line for line in setup.splitlines() if "pip install" in line]
    assert installs and all(" -qq " in line for line in installs)


# ------------------------------------------------------------ 22. map pins and files


async def drive_with_pin(db: Database) -> Drive:
    """A published drive in phường Sài Gòn with a map pin."""
    starts = (datetime.now(TZ) + timedelta(days=10)).replace(hour=7, minute=30, second=0)
    async with db.session() as session:
        drive = await drive_store.create_drive(
            session,
            drive_store.DriveBase(
                campaign="chu_nhat_do",
                starts_at=starts.astimezone(UTC),
                ends_at=(starts + timedelta(hours=4)).astimezone(UTC),
                venue_name="Nhà văn hóa Thanh Niên",
                address="4 Phạm Ngọc Thạch, Sài Gòn",
                latitude=10.7823,
                longitude=106.6958,
                province_code="79",
                collector="Bệnh viện Truyền máu Huyết học",
                target_units=100,
                capacity=50,
            ),
            ["26740"],
            "telegram:700",
        )
        drive.status = DriveStatus.PUBLISHED
        session.add(drive)
    return drive


async def test_drives_with_a_map_pin_show_the_pin_and_the_calendar_file(db: Database) -> None:
    await register(Person(ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ), 43, "en"), "en")
    drive = await drive_with_pin(db)
    async with console(db, user_id=43) as (app, api, shown):
        await converse(
            app,
            api,
            Script("/drives", f"/start drive_{drive.id}", tap(api, f"signup:{drive.id}")),
        )
    output = "\n".join(shown)
    assert "something went wrong" not in output  # no apology after a crash
    pin = "📍 Nhà văn hóa Thanh Niên, 4 Phạm Ngọc Thạch, Sài Gòn (10.7823, 106.6958)"
    assert output.count(pin) >= 2  # /drives, then the deep link
    assert "📎 " in output and ".ics" in output.split("📎 ", 1)[1].splitlines()[0]


def test_edits_print_new_text_but_not_the_tap_marker() -> None:
    shown: list[str] = []
    api = ConsoleBotApi(shown.append, user_id=44)
    sent = api.call("sendMessage", {"chat_id": 44, "text": "Sent 0 of 10"})
    api.call("editMessageText", {"chat_id": 44, "message_id": sent["message_id"], "text": "Sent 5 of 10"})
    api.call(
        "editMessageText",
        {"chat_id": 44, "message_id": sent["message_id"], "text": "Sent 5 of 10\n\n→ OK"},
    )
    assert shown.count("✏️  Sent 5 of 10") == 1
    assert not any("→ OK" in line for line in shown)


# ------------------------------------------------------------ 21. several consoles, one database


async def consented(db: Database, *user_ids: int) -> list[Donor]:
    people = [
        Donor(
            channel="telegram",
            external_id=str(uid),
            chat_id=str(uid),
            locale="en",
            consent_version="test",
            consented_at=datetime.now(UTC),
        )
        for uid in user_ids
    ]
    async with db.session() as session:
        session.add_all(people)
    return people


async def announce(db: Database, donors: list[Donor], author_chat: str) -> None:
    """One notice to each donor, with a button, due now; its progress goes to the author."""
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(
            session, "notice", "test", "79", progress_chat_id=author_chat
        )
        recipients = [
            outbox.Recipient(
                d.id, d.chat_id, f"Notice for {d.chat_id}", [[{"label": "OK", "data": "menu"}]]
            )
            for d in donors
        ]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))


async def statuses(db: Database) -> dict[str, str]:
    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    return {row.chat_id: row.status for row in rows}


async def test_two_console_senders_on_one_database_deliver_only_their_own(db: Database) -> None:
    donors = await consented(db, 51, 53)
    await announce(db, donors, author_chat="51")
    stop = asyncio.Event()
    async with console(db, 51) as (app1, api1, shown1), console(db, 53) as (app3, api3, shown3):
        first = OutboxSender(db, TelegramTransport(app1.bot), tz=TZ, chat_ids={"51"})
        third = OutboxSender(db, TelegramTransport(app3.bot), tz=TZ, chat_ids={"53"})
        # The third console goes first: it must leave person 1's notice (and progress) alone.
        assert await third._drain_once(stop)
        await third._report_progress(force=True)
        assert await statuses(db) == {"51": "pending", "53": "sent"}
        assert not await third._drain_once(stop)  # nothing more for person 3
        assert await first._drain_once(stop)
        await first._report_progress(force=True)
    assert await statuses(db) == {"51": "sent", "53": "sent"}
    out1, out3 = "\n".join(shown1), "\n".join(shown3)
    assert "Notice for 51" in out1 and "Notice for 53" not in out1
    assert "Notice for 53" in out3 and "Notice for 51" not in out3
    assert "(→" not in out1 + out3  # nothing went through another person's console
    assert [c.label for c in api1.choices] == ["OK"]  # the button is usable where it arrived
    assert [c.label for c in api3.choices] == ["OK"]


async def test_the_bot_sender_still_delivers_everything(db: Database) -> None:
    donors = await consented(db, 61, 63)
    await announce(db, donors, author_chat="61")
    async with console(db, 61) as (app, _api, shown):
        everyone = OutboxSender(db, TelegramTransport(app.bot), tz=TZ)
        assert await everyone._drain_once(asyncio.Event())
    assert await statuses(db) == {"61": "sent", "63": "sent"}


async def test_run_console_delivers_only_its_own_person(database_url: str) -> None:
    db = Database(database_url)
    try:
        from models.migrate import upgrade_database

        await upgrade_database(db.engine)
        donors = await consented(db, 71, 73)
        await announce(db, donors, author_chat="71")

        async def when_delivered() -> str | None:
            # Ctrl-D once person 1's notice is out (the sender runs beside the prompt).
            for _ in range(600):
                if (await statuses(db)).get("71") == "sent":
                    return None
                await asyncio.sleep(0.05)
            raise AssertionError("the console's sender did not deliver its person's notice")

        shown: list[str] = []
        await bot.run_console(
            settings_for(database_url), 71, "en", read_line=Script(when_delivered), write=shown.append
        )
        assert (await statuses(db))["73"] == "pending"  # left for person 3's console
    finally:
        await db.dispose()
    output = "\n".join(shown)
    assert "Notice for 71" in output and "73" not in output


@pytest.fixture(autouse=True)
def _no_real_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test that forgot its script must not wait on the terminal."""
    monkeypatch.setattr("sys.stdin", open("/dev/null"))  # noqa: SIM115
