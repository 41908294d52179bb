"""Audiences: who a broadcast goes to, named by kind and JSON parameters, read page by page.

A broadcast row keeps its audience; the sender reads it in pages ordered by donor id (the page
after the last id written), so the fan-out needs no list of recipients kept anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models import Donor, Follow

# The people of an audience, as one query (a page is its rows after a donor id).
Query = Callable[[dict[str, Any]], SelectOfScalar[Donor]]

FOLLOWERS = "followers"  # {"province": "01", "wards": ["00004", …] or null for all}
DONORS = "donors"  # {"ids": [3, 5, 8]}: chosen by rules that are not SQL (urgent calls)


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: a declared kind and its parameters."""

    kind: str
    params: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """As the broadcast row keeps it."""
        return {"kind": self.kind, "params": self.params}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Audience:
        """From the broadcast row."""
        return cls(str(value["kind"]), dict(value.get("params") or {}))


_KINDS: dict[str, Query] = {}


def audience_kind(key: str) -> Callable[[Query], Query]:
    """Declare a kind of audience: `key` → the query of its people from its parameters."""

    def register(query: Query) -> Query:
        if key in _KINDS and _KINDS[key] is not query:
            raise ValueError(f"audience kind {key!r} is declared twice")
        _KINDS[key] = query
        return query

    return register


def _reachable(statement: SelectOfScalar[Donor]) -> SelectOfScalar[Donor]:
    """Only people who have not stopped messages."""
    return statement.where(col(Donor.stopped_at).is_(None))


@audience_kind(FOLLOWERS)
def followers(params: dict[str, Any]) -> SelectOfScalar[Donor]:
    """Active registered donors following any of the wards (all the province's when null)."""
    follows = select(Follow.donor_id).where(col(Follow.province_code) == params["province"])
    if params.get("wards") is not None:
        follows = follows.where(col(Follow.ward_code).in_(list(params["wards"])))
    return select(Donor).where(col(Donor.id).in_(follows), col(Donor.registered_at).is_not(None))


@audience_kind(DONORS)
def donors(params: dict[str, Any]) -> SelectOfScalar[Donor]:
    """Donors given by id."""
    return select(Donor).where(col(Donor.id).in_([int(i) for i in params["ids"]]))


def _query(audience: Audience) -> SelectOfScalar[Donor]:
    return _reachable(_KINDS[audience.kind](audience.params))


async def count(session: AsyncSession, audience: Audience) -> int:
    """How many people the audience reaches now (one query)."""
    statement = select(func.count()).select_from(_query(audience).subquery())
    return int((await session.exec(statement)).one())


async def page(session: AsyncSession, audience: Audience, after_id: int, limit: int) -> list[Donor]:
    """The next `limit` people of the audience after donor id `after_id`, by id."""
    statement = (
        _query(audience).where(col(Donor.id) > after_id).order_by(col(Donor.id)).limit(limit)
    )
    return list((await session.exec(statement)).all())
