"""The author's summary of a broadcast: how long it took, in words that fit the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.core.i18n import use_locale
from services.outreach.outbox import Progress
from services.outreach.progress import duration_label, summary_text

START = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
DONE = Progress(total=10_000, sent=10_000, failed=0, blocked=0, pending=0)


@pytest.mark.parametrize(
    ("seconds", "english", "vietnamese"),
    [
        (0.4, "1 second", "1 giây"),
        (1, "1 second", "1 giây"),
        (42, "42 seconds", "42 giây"),
        (59, "59 seconds", "59 giây"),
        (60, "1 minute", "1 phút"),
        (340, "6 minutes", "6 phút"),
        (3600, "1 hour", "1 giờ"),
        (3900, "1 hour 5 minutes", "1 giờ 5 phút"),
        (9 * 3600 + 30 * 60, "9 hours 30 minutes", "9 giờ 30 phút"),
    ],
)
def test_duration_reads_in_the_right_unit(seconds: float, english: str, vietnamese: str) -> None:
    with use_locale("en"):
        assert duration_label(seconds) == english
    with use_locale("vi"):
        assert duration_label(seconds) == vietnamese


def test_a_one_second_send_does_not_say_one_minute() -> None:
    with use_locale("en"):
        text = summary_text(DONE, START, START + timedelta(seconds=1))
    assert text.startswith("✅ Broadcast finished in 1 second: 10,000 of 10,000 delivered.")
    assert "minute" not in text
    with use_locale("vi"):
        text = summary_text(DONE, START, START + timedelta(seconds=1))
    assert "trong 1 giây" in text and "10.000" in text and "phút" not in text
