"""Charts render as PNG, off the event loop, with Vietnamese letters and numbers as Vietnamese
readers write them."""

from __future__ import annotations

import warnings
from datetime import date, timedelta

from services.core.i18n import use_locale
from services.stats import charts
from services.stats.charts import DayCount, MonthFigures, UnitProgress

PNG = b"\x89PNG\r\n\x1a\n"
UNITS = [
    UnitProgress("TP. Đông Hà", 1141, 1203.4),
    UnitProgress("Huyện Hướng Hóa", 1161, 402.2),
    UnitProgress("Huyện Đakrông", 544, 0),
]


async def test_the_three_charts_render_in_vietnamese_without_missing_glyphs() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns of a glyph missing from the font
        with use_locale("vi"):
            progress = await charts.render_off_loop(
                charts.progress_chart, "Tiến độ so với kế hoạch năm 2027 (Quảng Trị)", UNITS
            )
            start = date(2027, 1, 4)
            days = [DayCount(start + timedelta(days=i), n) for i, n in enumerate([5, 12, 0, 30])]
            signups = await charts.render_off_loop(
                charts.signups_chart, "Đăng ký: Chủ nhật Đỏ, Nhà văn hóa phường Đông Hà", days, 40
            )
            months = [MonthFigures(2027, m, 800.0 * m, 933.3) for m in range(1, 4)]
            monthly = await charts.render_off_loop(
                charts.monthly_chart, "Hiến máu theo tháng", months
            )
    for picture in (progress, signups, monthly):
        assert picture.startswith(PNG) and len(picture) > 5_000


def test_axis_numbers_follow_the_readers_language() -> None:
    with use_locale("vi"):
        assert charts._formatter()(1234.5, 0) == "1.234,5"
    with use_locale("en"):
        assert charts._formatter()(1234.5, 0) == "1,234.5"
