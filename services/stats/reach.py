"""The share of the population: the people a scope's drives reached, and what its plan aims for,
as percentages with two decimals in the reader's number format (1,23 % in Vietnamese)."""

from __future__ import annotations

from babel.numbers import format_decimal

from services.core.i18n import _, get_locale
from services.core.labels import number_label
from services.stats.progress import PlanAim, reached_share


def share_label(value: float | None) -> str:
    """A share of the population: 1.23 % (English), 1,23 % (Vietnamese), "—" when unknown."""
    if value is None:
        return "—"
    return f"{format_decimal(value, format='#,##0.00', locale=get_locale())} %"


def reached_line(reached: int, population: int) -> str:
    """Distinct people who donated, against the population the plan states for the scope."""
    return _("Donors reached: {n} of {population} people ({share})").format(
        n=number_label(reached),
        population=number_label(population),
        share=share_label(reached_share(reached, population)),
    )


def aim_line(aim: PlanAim) -> str:
    """The plan's targets as shares of the population it states."""
    return _(
        "The plan aims at {bags} bags ({bags_share} of {population} people), "
        "{units} units of 250 ml ({units_share})"
    ).format(
        bags=number_label(aim.bags),
        bags_share=share_label(aim.bags_share),
        population=number_label(aim.population),
        units=number_label(round(aim.units, 1)),
        units_share=share_label(aim.units_share),
    )
