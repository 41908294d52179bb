"""What the author of a broadcast sees while it goes out: one message edited live, then a summary."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from services.core.i18n import _, get_locale, ngettext
from services.outreach.outbox import Progress


def _count(n: int) -> str:
    """Thousands grouped the way the reader's language writes them (10.000 / 10,000)."""
    return format_decimal(n, locale=get_locale())


def progress_text(state: Progress, now: datetime, rate_per_second: float, tz: ZoneInfo) -> str:
    """ "Sending: 1,200 / 10,000 · 3 failed · done about 14:32"."""
    lines = [
        _("📤 Sending: {sent} / {total}").format(sent=_count(state.sent), total=_count(state.total))
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


def duration_label(seconds: float) -> str:
    """ "12 seconds", "4 minutes", "1 hour 5 minutes": a one-second send does not read "1 minute"."""
    if seconds < 59.5:
        n = max(1, round(seconds))
        return ngettext("{n} second", "{n} seconds", n).format(n=n)
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("{n} minute", "{n} minutes", minutes).format(n=minutes)
    hours, rest = divmod(minutes, 60)
    text = ngettext("{n} hour", "{n} hours", hours).format(n=hours)
    if rest:
        text += " " + ngettext("{n} minute", "{n} minutes", rest).format(n=rest)
    return text


def summary_text(state: Progress, started: datetime, finished: datetime) -> str:
    """The closing summary."""
    took = duration_label((finished - started).total_seconds())
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
