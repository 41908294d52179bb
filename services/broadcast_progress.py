"""What the author of a broadcast sees while it goes out: one message edited live, then a summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from services.i18n import _, get_locale, ngettext
from services.outbox import Progress


def _count(n: int) -> str:
    """Thousands grouped the way the reader's language writes them (10.000 / 10,000)."""
    return format_decimal(n, locale=get_locale())


def progress_text(state: Progress, now: datetime, rate_per_second: float, tz: ZoneInfo) -> str:
    """"Sending: 1,200 / 10,000 · 3 failed · done about 14:32"."""
    lines = [
        _("📤 Sending: {sent} / {total}").format(
            sent=_count(state.sent), total=_count(state.total)
        )
    ]
    if state.failed or state.blocked:
        lines.append(
            _("Not delivered: {failed} failed, {blocked} have blocked the bot or stopped.").format(
                failed=_count(state.failed), blocked=_count(state.blocked)
            )
        )
    if state.pending and rate_per_second > 0:
        finish = now + timedelta(seconds=state.pending / rate_per_second)
        lines.append(
            _("Expected to finish at about {time}.").format(
                time=finish.astimezone(tz).strftime("%H:%M")
            )
        )
    return "\n".join(lines)


def summary_text(state: Progress, started: datetime, finished: datetime) -> str:
    """The closing summary."""
    minutes = max(1, round((finished - started).total_seconds() / 60))
    took = ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    text = _("✅ Broadcast finished in {took}: {sent} of {total} delivered.").format(
        took=took, sent=_count(state.sent), total=_count(state.total)
    )
    if state.failed:
        text += "\n" + _("{n} could not be delivered after several tries.").format(
            n=_count(state.failed)
        )
    if state.blocked:
        text += "\n" + _(
            "{n} have blocked the bot or stopped messages; they will not be messaged again "
            "until they send /start."
        ).format(n=_count(state.blocked))
    return text
