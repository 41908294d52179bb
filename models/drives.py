"""Blood drives, the wards they serve, sign-ups and the wards a donor follows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class DriveBase(SQLModel):
    """What a leader fills in for a drive."""

    campaign: str = Field(max_length=80)
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
    status: str = Field(default="draft", max_length=16)  # draft | published | cancelled
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
    status: str = Field(max_length=16)  # confirmed | waiting | cancelled
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
