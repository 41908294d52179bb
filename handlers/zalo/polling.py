"""Long polling of Zalo's getUpdates, for development (production takes the webhook).

Zalo's getUpdates returns one update at a time and has no offset: an update is gone once it was
returned, so one being handled when the process dies is lost, and what people send while nobody
polls is lost too (../shared/reference/next-capabilities.md). Hence webhook mode for real use.
Zalo refuses getUpdates while a webhook is set: the loop removes it first.

Each event is handled before the next poll (one person after another: enough for a developer's
chat). Network trouble and 5xx are waited out with a growing pause, a 429 for as long as it
asks; a refused token (401) ends Zalo's part, and the rest of the bot (Telegram, the outbox)
runs on until it is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from handlers.zalo.client import ZaloClient
from handlers.zalo.events import ZaloEvent, parse_events
from services.outreach.transport import RateLimited, Rejected, Transient, Unauthorized

log = logging.getLogger(__name__)

LONGEST_BACKOFF = 30.0

Handle = Callable[[ZaloEvent], Awaitable[None]]


async def poll(client: ZaloClient, handle: Handle, stop: asyncio.Event) -> None:
    """Fetch and handle events until `stop` is set (or Zalo refuses the token)."""
    try:
        await client.delete_webhook()
    except Unauthorized:
        log.error("Zalo refused the bot token: not polling Zalo")
        return
    backoff = 1.0
    while not stop.is_set():
        fetch = asyncio.ensure_future(client.get_updates())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not fetch.done():
            fetch.cancel()  # an update Zalo was returning at this instant is lost (no offset)
            with contextlib.suppress(asyncio.CancelledError, Transient):
                await fetch
            break
        try:
            updates = fetch.result()
            backoff = 1.0
        except Unauthorized:
            log.error("Zalo refused the bot token: Zalo polling stopped")
            return
        except RateLimited as exc:
            await _sleep(stop, exc.retry_after)
            continue
        except (Transient, Rejected) as exc:
            log.warning("Zalo getUpdates failed (%s); retrying in %.0f s", exc, backoff)
            await _sleep(stop, backoff)
            backoff = min(backoff * 2, LONGEST_BACKOFF)
            continue
        for event in parse_events(updates):
            try:
                await handle(event)
            except Exception as exc:  # the database went away, say: the next event may go
                log.error("A Zalo event was not handled: %s", type(exc).__name__, exc_info=exc)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Wait, but wake up at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
