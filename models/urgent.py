"""Answers to urgent calls: who tapped "I can come" under which call (one row per person and call)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class UrgentResponse(SQLModel, table=True):
    """A donor answered an urgent call: they can come. A repeated tap finds the same row."""

    __tablename__ = "urgent_responses"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "donor_id", name="uq_urgent_responses_broadcast_donor"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int = Field(
        sa_column=Column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False)
    )
    # /forget deletes the donor, and with them their answers.
    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
