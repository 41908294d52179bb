"""Privileged roles (staff of a province, leader of a club covering wards) and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Role(StrEnum):
    """The stored roles (role_grants.role); admins are configured, citizens are everyone else."""

    STAFF = "staff"
    LEADER = "leader"


class RoleGrant(SQLModel, table=True):
    """A role given to a channel account. Admins come from ADMIN_TELEGRAM_IDS, not from here."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint(
            "channel",
            "external_id",
            "role",
            "province_code",
            name="uq_role_grants_person_role_scope",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    external_id: str = Field(max_length=64, index=True)
    role: str = Field(max_length=16)  # a Role
    province_code: str = Field(max_length=4)  # staff: their province; leader: their club's
    club_name: str | None = Field(default=None, max_length=120)
    granted_by: str = Field(max_length=64)
    granted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class RoleWard(SQLModel, table=True):
    """A ward a club leader acts for."""

    __tablename__ = "role_wards"

    role_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("role_grants.id", ondelete="CASCADE"), primary_key=True
        )
    )
    ward_code: str = Field(max_length=8, primary_key=True)


class AuditEntry(SQLModel, table=True):
    """Who did what privileged thing, when, within which scope."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=80)  # "telegram:123"
    action: str = Field(max_length=40)
    scope: str = Field(max_length=120)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, index=True)
    )
