"""Is the bot well? The clock's heartbeats (in memory) and the checks /healthz answers with.

The sweeps and the outbox sender note here when they last did their work; `check` adds the
database and the outbox backlog, and says which part is failing. Only counts and ages: no id,
name, phone or text of anyone.

Thresholds (a check fails past them):
- database: `SELECT 1` does not answer within DB_TIMEOUT (2 s).
- sweeps: no reminder pass has finished for SWEEP_STALE (3 minutes: three missed passes of the
  one-minute sweep; counted from the start until the first pass).
- sender: while messages wait, it has sent nothing for SENDER_STALE (5 minutes) and either its
  sends have failed (network, 5xx, 429) all that time, or the oldest due message has waited that
  long. A long broadcast that is moving (the oldest row old, but messages going out) is fine; so
  is an outbox whose rows all wait for later (quiet hours, a retry's backoff) while nothing fails.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text

from models.database import Database
from models.types import utcnow
from services.outreach import outbox

DB_TIMEOUT = 2.0  # seconds for SELECT 1 (and as long again for the outbox counts)
SWEEP_STALE = timedelta(minutes=3)
SENDER_STALE = timedelta(minutes=5)


@dataclass
class Heartbeat:
    """When the clock last did its work (UTC), noted by the sweeps and the sender."""

    started_at: datetime = field(default_factory=utcnow)
    swept_at: datetime | None = None  # the last reminder pass that finished
    sent_at: datetime | None = None  # the last message the sender delivered
    failing_since: datetime | None = None  # the first failed send since the last success

    def swept(self) -> None:
        """A reminder pass finished."""
        self.swept_at = utcnow()

    def sent(self) -> None:
        """A message reached the platform."""
        self.sent_at = utcnow()
        self.failing_since = None

    def send_failed(self) -> None:
        """A send failed in a way that is the platform's, not the person's (retried later)."""
        if self.failing_since is None:
            self.failing_since = utcnow()


@dataclass
class Health:
    """What /healthz answers: ok when every check is."""

    ok: bool
    checks: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        """The JSON body."""
        return {"status": "ok" if self.ok else "failing", "checks": self.checks}


async def check(db: Database, beat: Heartbeat, *, within: float = DB_TIMEOUT) -> Health:
    """Every check, each one bounded in time."""
    now = utcnow()
    database: dict[str, Any] = {"ok": False}
    backlog: outbox.Backlog | None = None
    started = time.monotonic()
    try:
        await asyncio.wait_for(_select_one(db), within)
        database = {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}
        backlog = await asyncio.wait_for(_backlog(db, now), within)
    except TimeoutError:
        database.update(error="timeout")
    except Exception as exc:  # the database is down, or its URL is wrong: say which kind
        database.update(error=type(exc).__name__)
    checks = {
        "database": database,
        "outbox": _outbox_check(backlog, now),
        "sweeps": _sweep_check(beat, now),
        "sender": _sender_check(beat, backlog, now),
    }
    return Health(all(c["ok"] for c in checks.values()), checks)


async def _select_one(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _backlog(db: Database, now: datetime) -> outbox.Backlog:
    async with db.session() as session:
        return await outbox.backlog(session, now)


def _age(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else round((now - since).total_seconds(), 1)


def _outbox_check(backlog: outbox.Backlog | None, now: datetime) -> dict[str, Any]:
    """The numbers only; the sender check judges them. Unknown when the database is down."""
    if backlog is None:
        return {"ok": False, "error": "database unreachable"}
    return {
        "ok": True,
        "pending": backlog.pending,
        "due": backlog.due,
        "oldest_due_seconds": _age(backlog.oldest_due, now),
    }


def _sweep_check(beat: Heartbeat, now: datetime) -> dict[str, Any]:
    last = beat.swept_at or beat.started_at
    return {
        "ok": now - last <= SWEEP_STALE,
        "last_pass_seconds_ago": _age(beat.swept_at, now),
        "limit_seconds": SWEEP_STALE.total_seconds(),
    }


def _sender_check(beat: Heartbeat, backlog: outbox.Backlog | None, now: datetime) -> dict[str, Any]:
    last_sent = beat.sent_at or beat.started_at
    quiet = now - last_sent > SENDER_STALE
    waiting = backlog is not None and backlog.pending > 0
    failing = beat.failing_since is not None and now - beat.failing_since > SENDER_STALE
    stuck = (
        backlog is not None
        and backlog.oldest_due is not None
        and now - backlog.oldest_due > SENDER_STALE
    )
    return {
        "ok": not (waiting and quiet and (failing or stuck)),
        "last_sent_seconds_ago": _age(beat.sent_at, now),
        "failing_for_seconds": _age(beat.failing_since, now),
        "limit_seconds": SENDER_STALE.total_seconds(),
    }
