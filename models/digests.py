"""Who asked for the weekly digest of /stats, and when their next one falls due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class DigestSubscription(SQLModel, table=True):
    """A person (staff, a leader, an admin) who wants last week's figures every Monday.

    `due_at` is the next Monday 08:00 (local) their digest falls due: the sweep claims the rows
    whose moment has come and moves it a week on in the transaction that queues the message, so
    what is due lives here, never in a timer. Deleted with the person (/forget) and when they
    turn it off or no longer hold a role with figures to see."""

    __tablename__ = "digest_subscriptions"

    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True)
    )
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    subscribed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
