"""Long polling that confirms an update only after it was handled.

PTB's Updater confirms updates as soon as the next batch is fetched, while they may still be in
the queue; a crash then loses them. Here the offset moves past a batch only once its handlers
finished (and their answers are in the database), so a SIGKILL at any line loses no message:
the batch comes again after the restart, and the chat service recognises what it answered by
the update id. Within a batch, different people's updates are handled at once (each person's
in order); the webhook mode has no batches at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from handlers.telegram.personal_order import PersonalOrder
from handlers.telegram.update_types import update_types

log = logging.getLogger(__name__)

POLL_TIMEOUT = 25  # seconds Telegram holds a getUpdates open


async def poll(app: Application, stop: asyncio.Event, order: PersonalOrder | None = None) -> None:
    """Fetch, handle and confirm updates until `stop` is set."""
    offset: int | None = None
    backoff = 1.0
    order = order if order is not None else PersonalOrder()
    wanted = update_types(app)  # what the handlers answer, as the webhook asks for too
    while not stop.is_set():
        fetch = asyncio.ensure_future(
            app.bot.get_updates(
                offset=offset,
                timeout=POLL_TIMEOUT,
                allowed_updates=wanted,
                read_timeout=POLL_TIMEOUT + 10,
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            # Asked to stop during a long poll: what it would fetch comes again next time.
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimedOut, NetworkError):
                await fetch
            break
        try:
            updates = fetch.result()
            backoff = 1.0
        except RetryAfter as exc:
            await _sleep(
                stop, float(exc.retry_after if isinstance(exc.retry_after, int | float) else 5)
            )
            continue
        except InvalidToken:
            raise
        except (TimedOut, NetworkError) as exc:
            log.warning("getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            await _sleep(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        if not updates:
            continue
        # Different people's updates at once, each person's in order (PersonalOrder: FIFO per
        # person, tasks started in update order). The offset moves past the batch only once all
        # of it was handled: a crash before that brings it all again, and the chat service
        # recognises what it already answered by the update id.
        handled = await asyncio.gather(
            *(order.process(app, update) for update in updates), return_exceptions=True
        )
        failed = next((r for r in handled if isinstance(r, BaseException)), None)
        if failed is not None:
            raise failed
        offset = updates[-1].update_id + 1
    if offset is not None:
        # Confirm the last handled update so it is not delivered again after a clean stop.
        try:
            await app.bot.get_updates(offset=offset, timeout=0)
        except (TimedOut, NetworkError):
            log.warning("Could not confirm the last update; it will be recognised as a repeat")


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Wait, but wake up at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
