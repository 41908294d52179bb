"""The events of each channel already applied: a redelivered one (Telegram or Zalo sending an
update again after a crash or a timeout) is recognised by its key and not applied twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class HandledEvent(SQLModel, table=True):
    """One applied event: its channel and key (Telegram's update id; Zalo's event name and
    message id). Exact keys, not a high-water mark: webhook deliveries may arrive out of order,
    and an earlier update arriving after a later one is new, not a repeat. Kept a few days
    (platforms redeliver within hours), deleted with the person."""

    __tablename__ = "handled_events"

    channel: str = Field(max_length=16, primary_key=True)
    event_key: str = Field(max_length=96, primary_key=True)
    donor_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    handled_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
