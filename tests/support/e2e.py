"""Helpers for end-to-end tests: the real bot.py as a subprocess against the fake Bot API server
(and the fake Zalo platform, for the Zalo channel)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlmodel import select

from models import Donor
from models.database import Database
from tests.support.fakebot import FakeBotApi, FakeUser
from tests.support.fakezalo import TOKEN as ZALO_TOKEN
from tests.support.fakezalo import FakeZaloApi

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAHtestTokenForTheFakeBotApiServer00"


class BotProcess:
    """bot.py, started and killed like an operator would: on Telegram (`server`), on Zalo
    (`zalo`), or on both."""

    def __init__(
        self,
        server: FakeBotApi | None,
        database_url: str,
        log_path: Path,
        extra_env: dict[str, str] | None = None,
        args: list[str] | None = None,
        zalo: FakeZaloApi | None = None,
    ) -> None:
        self.server = server
        self.zalo = zalo
        self.extra_env = extra_env or {}
        self.args = args or []
        self.database_url = database_url
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        """The environment: tokens, fake servers, the test database; nothing from a .env file."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DATABASE_", "ZALO_", "WEBHOOK_"))
        }
        if self.server is not None:
            base = self.server.base_url.removesuffix("/bot")
            env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=base)
        if self.zalo is not None:
            env.update(ZALO_BOT_TOKEN=ZALO_TOKEN, ZALO_API_BASE_URL=self.zalo.root_url)
        env.update(DATABASE_URL=self.database_url, LOG_LEVEL="INFO", PYTHONUNBUFFERED="1")
        env.update(self.extra_env)
        return env

    def ready(self) -> bool:
        """Polling (with --webhook: its webhook set) on every channel it runs."""
        webhook = "--webhook" in self.args
        ready = []
        if self.server is not None:
            ready.append(self.server.webhook is not None if webhook else self.server.polling())
        if self.zalo is not None:
            ready.append(
                self.zalo.webhook is not None if webhook else self.zalo.polls_waiting() > 0
            )
        return all(ready)

    def start(self) -> None:
        """Start bot.py and wait until it polls (with --webhook: until it set its webhook)."""
        log = self.log_path.open("ab")
        if self.zalo is not None:
            with self.zalo.lock:  # a webhook of the last run is not this one's
                self.zalo.webhook = None
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bot.py"), *self.args],
            cwd=self.log_path.parent,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"bot.py exited early:\n{self.log()}")
            if self.ready():
                return
            time.sleep(0.05)
        raise AssertionError(f"bot.py did not start polling:\n{self.log()}")

    def kill(self, settle: bool = True) -> None:
        """SIGKILL: no chance to clean up.

        With `settle`, first wait until the bot confirmed the updates it answered: a kill in the
        instant between an answer and its confirmation repeats that answer (it was in flight).
        """
        if settle and self.server is not None:
            self.server.wait_confirmed()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.server is not None:
            self.server.reset_polling()

    def stop(self) -> None:
        """SIGTERM and wait for a clean exit."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raise AssertionError(f"bot.py did not stop on SIGTERM:\n{self.log()}") from None

    def log(self) -> str:
        """What the bot printed."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


class Chat:
    """One person talking to the bot through the fake server."""

    def __init__(self, server: FakeBotApi, user: FakeUser) -> None:
        self.server = server
        self.user = user

    def say(self, text: str, expect: int = 1) -> list[dict[str, Any]]:
        """Type a message; return the bot's next `expect` messages."""
        self.server.user_sends_text(self.user, text)
        return self.server.wait_for_bot_messages(self.user.id, count=expect)

    def tap(self, button: str, expect: int = 1) -> list[dict[str, Any]]:
        """Tap an inline button by its data or its label."""
        self.server.user_presses(self.user, button)
        return self.server.wait_for_bot_messages(self.user.id, count=expect)

    def share_contact(self, phone: str, own: bool = True, expect: int = 1) -> list[dict[str, Any]]:
        """Tap "share my phone number"."""
        self.server.user_sends_contact(self.user, phone, own=own)
        return self.server.wait_for_bot_messages(self.user.id, count=expect)

    def send(self, text: str) -> None:
        """Type a message without waiting for the answer."""
        self.server.user_sends_text(self.user, text)

    def until(self, needle: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        """The bot's messages up to the first that holds `needle`."""
        return self.server.wait_for_text(self.user.id, needle, timeout)

    def press(self, button: str) -> None:
        """Tap a button without waiting for the answer."""
        self.server.user_presses(self.user, button)

    def share_location(self, lat: float, lon: float, expect: int = 1) -> list[dict[str, Any]]:
        """Tap "share my location"."""
        self.server.user_sends_location(self.user, lat, lon)
        return self.server.wait_for_bot_messages(self.user.id, count=expect)


def text_of(messages: list[dict[str, Any]]) -> str:
    """The texts of several messages (a file's or picture's caption), joined."""
    return "\n".join(str(m.get("text", m.get("caption", ""))) for m in messages)


def button_data(messages: list[dict[str, Any]]) -> list[str]:
    """Every inline button's callback data."""
    found: list[str] = []
    for message in messages:
        markup = message.get("reply_markup") or {}
        for row in markup.get("inline_keyboard", []):
            found.extend(b.get("callback_data", "") for b in row)
    return found


def donors(database_url: str) -> list[Donor]:
    """Read the donors table the bot wrote."""

    async def read() -> list[Donor]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return list((await session.exec(select(Donor))).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


def count_rows(database_url: str, model: type) -> int:
    """How many rows a table holds."""

    async def read() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return len((await session.exec(select(model))).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


def register_vietnamese(chat: Chat) -> None:
    """A citizen registers in Vietnamese, sharing contact and location."""
    out = chat.say("/start")
    assert button_data(out) == ["lang:vi", "lang:en"]
    out = chat.tap("lang:vi")
    assert "91/2025/QH15" in text_of(out)
    out = chat.tap("consent:vi:yes")
    assert "Họ và tên" in text_of(out)
    out = chat.say("Nguyễn Thị Hồng")
    assert "Ngày sinh" in text_of(out)
    out = chat.say("5/8/98")
    assert "Giới tính" in text_of(out)
    out = chat.tap("Nữ")
    assert out[0]["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    out = chat.share_contact("84912345678", expect=2)
    assert "0912 345 678" in text_of(out)
    assert out[1]["reply_markup"]["keyboard"][0][0]["request_location"] is True
    out = chat.share_location(21.0285, 105.8542)  # Hoàn Kiếm
    wards = [d for d in button_data(out) if d.startswith("ward:01:")]
    assert wards, text_of(out)
    out = chat.say("ha dong hn")
    assert "ward:01:09556" in button_data(out)
    out = chat.tap("ward:01:09556", expect=2)  # the location's keyboard goes; then a question
    assert "Phường Hà Đông" in text_of(out)
    assert "Nhóm máu" in text_of(out)
    out = chat.tap("bg:O+")
    out = chat.tap("kind:whole_blood")
    out = chat.say("15/03/2026")
    assert "Nguyễn Thị Hồng" in text_of(out) and "confirm" in button_data(out)
    out = chat.tap("confirm")
    assert "đăng ký thành công" in text_of(out)
