"""Each consent given: which text version, in which language, when (Law 91/2025/QH15)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class ConsentRecord(SQLModel, table=True):
    """A consent event; deleted with the donor on /forget."""

    __tablename__ = "consent_records"

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    version: str = Field(max_length=32)
    locale: str = Field(max_length=8)
    accepted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
