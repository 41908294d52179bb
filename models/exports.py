"""Exports too large to build during a chat turn: a job row, built by the scheduler's process."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Index, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class ExportStatus(StrEnum):
    """Where an export job is (export_jobs.status)."""

    PENDING = "pending"
    BUILDING = "building"  # claimed by a process at claimed_at; free again after the lease
    DONE = "done"  # its file is in the outbox (under the key "export:<id>")
    FAILED = "failed"  # the person was told why (under the key "export-failed:<id>")


class ExportJob(SQLModel, table=True):
    """One export asked for in /stats, built off the chat turn and sent as a file.

    `params` holds the scope and period (province, wards, campaign, drive, dates) and never a
    name or a phone; the file itself goes only to the outbox row that delivers it."""

    __tablename__ = "export_jobs"
    __table_args__ = (Index("ix_export_jobs_status", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False)
    )
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64)  # whose roles are checked again when it is built
    chat_id: str = Field(max_length=64)  # their private chat, where the file goes
    locale: str = Field(default="vi", max_length=8)
    kind: str = Field(max_length=16)  # what is exported: "donations"
    format: str = Field(max_length=8)  # "csv" or "xlsx"
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=ExportStatus.PENDING, max_length=12)
    attempts: int = 0
    rows: int | None = None
    size_bytes: int | None = None
    error: str | None = Field(default=None, max_length=200)  # a reason code, never data
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
