"""Durable delivery: a broadcast's recipients are written here before anything is sent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class BroadcastStatus(StrEnum):
    """Where a broadcast is: its rows being written, waiting, going out, finished."""

    EXPANDING = "expanding"  # its recipient rows are being written by the sender, in batches
    QUEUED = "queued"
    SENDING = "sending"
    DONE = "done"


class DeliveryStatus(StrEnum):
    """Where one outbox row is."""

    PENDING = "pending"
    SENDING = "sending"  # committed before the platform call: in flight
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"  # the person stopped the bot or blocked it
    SUPERSEDED = "superseded"  # an undelivered reply the person no longer needs


class Broadcast(SQLModel, table=True):
    """One announcement, notice or urgent call, and where its author watches progress.

    A broadcast to many is written as this one row, its message (key and parameters) and its
    audience (kind and parameters); the sender expands it into outbox rows in batches, outside
    the author's transaction ("expanding", then "queued"). `expanded_through` is the last donor
    id written, so an interrupted expansion resumes where it stopped.
    """

    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=24)  # drive_announcement | drive_change | notice | urgent
    author: str = Field(max_length=80)
    drive_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("drives.id", ondelete="SET NULL"))
    )
    scope: str = Field(default="", max_length=200)
    total: int = 0
    status: str = Field(default=BroadcastStatus.QUEUED, max_length=16)
    message_key: str | None = Field(default=None, max_length=64)
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    audience: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    not_before: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    expanded_through: int | None = None
    progress_chat_id: str | None = Field(default=None, max_length=64)
    progress_message_id: int | None = Field(default=None, sa_column=Column(BigInteger()))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class OutboxMessage(SQLModel, table=True):
    """One message to one chat: pending → sending → sent, or failed/blocked.

    "sending" is written before the call to Telegram and "sent" after it, so after a crash the
    rows still "sending" are exactly the messages that were in flight. A row names its message
    by key and parameters and is worded when sent, in the person's language of that moment;
    text/buttons/document keep the wording of queue time (the whole message for key "text").
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "chat_id", name="uq_outbox_broadcast_chat"),
        Index("ix_outbox_due", "status", "not_before"),
        Index("uq_outbox_dedupe_key", "dedupe_key", unique=True),
        # A person's rows: the replies still waiting for them, /stop, /forget's cascade.
        Index("ix_outbox_donor_status", "donor_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    broadcast_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("broadcasts.id", ondelete="CASCADE"))
    )
    donor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"))
    )
    channel: str = Field(
        default="telegram",
        sa_column=Column(String(16), nullable=False, server_default="telegram"),
    )
    chat_id: str = Field(max_length=64)
    message_key: str = Field(
        default="text", sa_column=Column(String(64), nullable=False, server_default="text")
    )
    params: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    locale: str | None = Field(default=None, max_length=8)
    text: str
    buttons: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    document: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    status: str = Field(default=DeliveryStatus.PENDING, max_length=12)
    attempts: int = 0
    not_before: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    error: str | None = Field(default=None, max_length=200)
    # A message that must exist at most once (a reminder: "eligible:<donor>:<day>"); None for the rest.
    dedupe_key: str | None = Field(default=None, max_length=80)
