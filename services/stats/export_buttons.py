"""The "⬇️ CSV" and "⬇️ Excel" buttons under /stats views.

A button names what to export and where; whoever taps it gets only what their own roles cover
(services/stats/exports checks the scope again), so a forged button reaches nothing more."""

from __future__ import annotations

import dataclasses
from datetime import date
from enum import StrEnum

from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button
from services.core.i18n import _
from services.stats.figures import Period


class ExportWhat(StrEnum):
    """What a file holds."""

    DONATIONS = "d"  # one row per person at a drive's desk in the scope and period
    PROGRESS = "p"  # the plan's units with target and actual (the period is its year)


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


@dataclasses.dataclass(frozen=True)
class StatsExport(ButtonData, kind="stx"):
    """An export of /stats: what, as which file, from `start` to `end`, and within the person's
    scope narrowed to one ward, campaign or drive (at most one of them)."""

    what: ExportWhat
    format: ExportFormat
    start: date
    end: date
    ward: str = ""
    campaign: str = ""
    drive: int = 0

    @property
    def period(self) -> Period:
        return Period(self.start, self.end)


def export_row(
    what: ExportWhat, period: Period, *, ward: str = "", campaign: str = "", drive: int = 0
) -> list[Button]:
    """The two buttons of one export."""
    return [
        StatsExport(what, fmt, period.start, period.end, ward, campaign, drive).button(label)
        for fmt, label in ((ExportFormat.CSV, _("⬇️ CSV")), (ExportFormat.XLSX, _("⬇️ Excel")))
    ]
