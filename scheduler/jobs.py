"""Housekeeping on a clock (APScheduler): what must happen even when nobody writes.

The health answers of an eligibility check left idle for an hour are deleted, as the consent
text promises; every minute, the reminders due are queued in the outbox (services/reminders:
what is due lives in the database, so these jobs are only the clock); the donors of a drive that
ended are thanked (once each); every minute, the weekly digests of /stats that came due (Monday
08:00) are queued, each once; the /stats exports too large for a chat turn are built and queued
as files (services/stats/export_jobs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from scheduler.health import Heartbeat
from services.chat import ChatService

log = logging.getLogger(__name__)
T = TypeVar("T")

SWEEP_MINUTES = 5  # an idle check's answers live at most an hour and five minutes
THANKS_MINUTES = 30  # donors are thanked within half an hour of a drive's end + 2 h
REMINDER_SECONDS = 60  # a reminder goes within a minute of its hour
DIGEST_SECONDS = 60  # a weekly digest goes within a minute of Monday 08:00
HANDLED_EVENTS_MINUTES = 60  # the keys of applied updates are kept a few days, pruned hourly
EXPORT_SECONDS = 5  # a large /stats export starts building within seconds of the request


async def _one_pass(work: Awaitable[T], failure: str) -> T | None:
    """Run one pass; None when it failed (logged: the next pass tries again) or was stopped
    by the process stopping (its transaction rolled back; the next start takes it up)."""
    try:
        return await work
    except asyncio.CancelledError:
        log.info("Stopped during a pass; the next start takes it up")
    except Exception:
        log.exception("%s; trying again at the next pass", failure)
    return None


async def sweep_health_answers(chat: ChatService) -> None:
    """One pass of the sweep; a failure is logged and the next pass tries again."""
    closed = await _one_pass(
        chat.expire_idle_health_answers(), "Could not sweep idle health answers"
    )
    if closed:
        log.info("Closed %d idle eligibility check(s) and deleted their answers", closed)


async def forget_handled_events(chat: ChatService) -> None:
    """Drop the keys of updates no platform will send again (the repeat check needs no more)."""
    await _one_pass(chat.forget_handled_events(), "Could not delete old update keys")


async def thank_after_drives(chat: ChatService) -> None:
    """Thank the donors of drives that ended (a donor already thanked is skipped)."""
    queued = await _one_pass(
        chat.thank_after_drives(), "Could not thank the donors of ended drives"
    )
    if queued:
        log.info("Queued %d thank-you(s) after drives", queued)


async def sweep_reminders(chat: ChatService, heartbeat: Heartbeat | None = None) -> None:
    """One reminder pass; a failure rolls its batch back, and the next pass tries again."""
    swept = await _one_pass(chat.sweep_reminders(), "Could not sweep reminders")
    if swept is None:
        return
    if heartbeat is not None:
        heartbeat.swept()  # /healthz: the clock ticks
    eligible, drives = swept
    if eligible or drives:
        log.info("Queued %d eligibility and %d drive reminder(s)", eligible, drives)


async def sweep_digests(chat: ChatService) -> None:
    """One digest pass; a failure rolls its batch back, and the next pass tries again."""
    queued = await _one_pass(chat.sweep_digests(), "Could not sweep the weekly digests")
    if queued:
        log.info("Queued %d weekly digest(s)", queued)


async def build_exports(chat: ChatService) -> None:
    """Build the /stats exports waiting (their files go out through the outbox)."""
    built = await _one_pass(chat.build_exports(), "Could not build the exports waiting")
    if built:
        log.info("Handled %d export job(s)", built)


def housekeeping(chat: ChatService, heartbeat: Heartbeat | None = None) -> AsyncIOScheduler:
    """The scheduler with its jobs (not started: the caller starts and stops it); each finished
    reminder pass is noted in `heartbeat`."""
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        sweep_health_answers,
        "interval",
        minutes=SWEEP_MINUTES,
        args=[chat],
        id="sweep_health_answers",
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),  # once at start: the process may have been down
    )
    scheduler.add_job(
        forget_handled_events,
        "interval",
        minutes=HANDLED_EVENTS_MINUTES,
        args=[chat],
        id="forget_handled_events",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        thank_after_drives,
        "interval",
        minutes=THANKS_MINUTES,
        args=[chat],
        id="thank_after_drives",
        coalesce=True,
        max_instances=1,
    )
    scheduler.add_job(
        sweep_reminders,
        "interval",
        seconds=REMINDER_SECONDS,
        args=[chat, heartbeat],
        id="sweep_reminders",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,  # a pass that came due while the loop was busy still runs
        next_run_time=datetime.now(UTC),  # at start: what fell due while the bot was down
    )
    scheduler.add_job(
        sweep_digests,
        "interval",
        seconds=DIGEST_SECONDS,
        args=[chat],
        id="sweep_digests",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),  # at start: a digest due while the bot was down
    )
    scheduler.add_job(
        build_exports,
        "interval",
        seconds=EXPORT_SECONDS,
        args=[chat],
        id="build_exports",
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        next_run_time=datetime.now(UTC),  # at start: a job left pending by a crash
    )
    return scheduler
