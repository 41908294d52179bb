"""Honoring bands: the donation counts (1, 5, 10 … 100) at which donors are honoured, and who
honours each band in a province; the figures live in locales/rules/honoring.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HONORING_PATH = Path(__file__).resolve().parents[2] / "locales" / "rules" / "honoring.toml"


@dataclass(frozen=True)
class Band:
    """A band of the honoring rules, and who honours it in the donor's province."""

    count: int
    honoured_by: str


@cache
def _rules() -> dict[str, Any]:
    with HONORING_PATH.open("rb") as fh:
        return tomllib.load(fh)


def bands() -> tuple[int, ...]:
    """The donation counts that are honoured, in order."""
    return tuple(int(n) for n in _rules()["bands"])


def _band(province: str | None, count: int) -> Band:
    rules = _rules()
    local = rules.get("provinces", {}).get(province or "", {})
    honoured_by = local.get("bands", {}).get(str(count)) or local.get("honoured_by")
    return Band(count, honoured_by or rules["default"]["honoured_by"])


def reached(count: int, province: str | None = None) -> Band | None:
    """The band a donor's `count`-th donation reaches exactly (a congratulation is due)."""
    return _band(province, count) if count in bands() else None


def current(count: int, province: str | None = None) -> Band | None:
    """The highest band a donor with `count` donations has reached."""
    below = [n for n in bands() if n <= count]
    return _band(province, below[-1]) if below else None


def next_band(count: int) -> int | None:
    """The next count that is honoured."""
    return next((n for n in bands() if n > count), None)
