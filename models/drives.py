"""Blood drives, the wards they serve, sign-ups and the wards a donor follows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class DriveStatus(StrEnum):
    """Where a drive is: written by its leader, announced, or called off (drives.status)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class SignupStatus(StrEnum):
    """A donor's place at a drive: a seat, the waiting list, or given up (signups.status)."""

    CONFIRMED = "confirmed"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class Campaign(StrEnum):
    """The national campaign calendar (vn-donation-rules.md §6), in the order offered.

    drives.campaign holds one of these codes, or the name a leader typed for another campaign.
    """

    CHU_NHAT_DO = "chu_nhat_do"
    XUAN_HONG = "xuan_hong"
    NGAY_TOAN_DAN = "ngay_toan_dan"
    NGAY_QUOC_TE = "ngay_quoc_te"
    HANH_TRINH_DO = "hanh_trinh_do"
    GIOT_HONG_TRI_AN = "giot_hong_tri_an"


class DriveBase(SQLModel):
    """What a leader fills in for a drive."""

    campaign: str = Field(max_length=80)  # a Campaign, or the name a leader typed
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    ends_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    venue_name: str = Field(max_length=200)
    address: str = Field(max_length=300)
    latitude: float | None = None
    longitude: float | None = None
    province_code: str = Field(max_length=4, index=True)
    collector: str = Field(max_length=200)  # the hospital or blood centre collecting
    target_units: int
    capacity: int


class Drive(DriveBase, table=True):
    """A drive; announced when published, its sign-ups told of any change or cancellation."""

    __tablename__ = "drives"

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default=DriveStatus.DRAFT, max_length=16)  # a DriveStatus
    created_by: str = Field(max_length=80)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class DriveWard(SQLModel, table=True):
    """A ward a drive serves."""

    __tablename__ = "drive_wards"

    drive_id: int = Field(
        sa_column=Column(Integer, ForeignKey("drives.id", ondelete="CASCADE"), primary_key=True)
    )
    ward_code: str = Field(max_length=8, primary_key=True)


class Signup(SQLModel, table=True):
    """A donor's seat, or place on the waiting list, at a drive."""

    __tablename__ = "signups"
    __table_args__ = (
        UniqueConstraint("drive_id", "donor_id", name="uq_signups_drive_donor"),
        Index("ix_signups_drive_status", "drive_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    drive_id: int = Field(
        sa_column=Column(Integer, ForeignKey("drives.id", ondelete="CASCADE"), nullable=False)
    )
    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False)
    )
    status: str = Field(max_length=16)  # a SignupStatus
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class Follow(SQLModel, table=True):
    """A ward whose drives and notices a donor receives (their own ward by default)."""

    __tablename__ = "follows"
    __table_args__ = (Index("ix_follows_ward", "province_code", "ward_code"),)

    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True)
    )
    province_code: str = Field(max_length=4, primary_key=True)
    ward_code: str = Field(max_length=8, primary_key=True)
