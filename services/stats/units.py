"""Blood units: bags as collected, and "converted" units on a 250 ml base (quy đổi).

A 350 ml bag counts 1.4 units, a 450 ml bag 1.8 (a volume over 250 ml). The seed plans reproduce
exactly: 10,000 bags with 30 % at 350 ml are 11,200 converted units. Every figure says its base,
since national figures are sometimes quoted on a 350 ml base.
"""

from __future__ import annotations

from collections.abc import Iterable

BASE_ML = 250  # the unit base of every converted figure in the bot


def converted(volume_ml: int) -> float:
    """One bag in 250 ml units (350 ml → 1.4, 450 ml → 1.8)."""
    return volume_ml / BASE_ML


def converted_total(volumes_ml: Iterable[int]) -> float:
    """Bags in 250 ml units."""
    return sum(converted(v) for v in volumes_ml)


def planned_converted(bags: int, share_350: float) -> float:
    """A plan's bags in 250 ml units when `share_350` of them (0.3 for 30 %) are of 350 ml and the
    rest of 250 ml."""
    return bags * (1 - share_350) + bags * share_350 * converted(350)


def share_of_population(count: float, population: int) -> float:
    """The percentage of a population a count of units stands for (1,019 of 92,592 → 1.10)."""
    return 100 * count / population if population else 0.0
