"""Donations (recorded at a drive or reported by the donor) and what happened at a drive's desk."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class DonationSource(StrEnum):
    """Who recorded a donation (donations.source)."""

    DRIVE = "drive"  # checked in at a drive by its leader or staff
    SELF_REPORTED = "self_reported"  # "I donated elsewhere", or stated at registration


class CheckinOutcome(StrEnum):
    """What happened to a person at a drive (checkins.outcome)."""

    DONATED = "donated"
    DEFERRED = "deferred"  # the screening desk deferred them on site
    NO_SHOW = "no_show"


class Donation(SQLModel, table=True):
    """One donation of a donor; the most recent one decides when they may give again."""

    __tablename__ = "donations"
    __table_args__ = (Index("ix_donations_donor_day", "donor_id", "donated_on"),)

    id: int | None = Field(default=None, primary_key=True)
    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), nullable=False)
    )
    donated_on: date
    kind: str = Field(max_length=16)  # a models.donor.DonationKind
    volume_ml: int | None = None  # None: not known (the last donation stated at registration)
    source: str = Field(max_length=16)  # a DonationSource
    drive_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("drives.id", ondelete="SET NULL"), index=True),
    )
    place: str | None = Field(default=None, max_length=200)  # where, when not at one of our drives
    recorded_by: str = Field(max_length=80)  # a role holder's label, or "self"
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class CheckIn(SQLModel, table=True):
    """A person at a drive's desk: donated, deferred on site, or did not come.

    A registered donor has `donor_id`; someone not (yet) registered is recorded by the leader
    with a name and phone only, to be invited to the bot. A correction on the same day rewrites
    the row (and its donation)."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("drive_id", "donor_id", name="uq_checkins_drive_donor"),
        UniqueConstraint("drive_id", "walk_in_phone", name="uq_checkins_drive_walk_in"),
        # Every column /stats counts, so a year of a province is read from the index alone.
        Index(
            "ix_checkins_drive_figures",
            "drive_id",
            "outcome",
            "volume_ml",
            "repeat_donor",
            "donor_id",
            "walk_in_phone",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    drive_id: int = Field(
        sa_column=Column(Integer, ForeignKey("drives.id", ondelete="CASCADE"), nullable=False)
    )
    donor_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"))
    )
    walk_in_name: str | None = Field(default=None, max_length=100)
    walk_in_phone: str | None = Field(default=None, max_length=16)
    outcome: str = Field(max_length=16)  # a CheckinOutcome
    kind: str | None = Field(default=None, max_length=16)  # a DonationKind, when donated
    volume_ml: int | None = None
    deferred_until: date | None = None  # when deferred on site
    deferral_code: str | None = Field(default=None, max_length=32)
    donation_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("donations.id", ondelete="SET NULL")),
    )
    # The donor had given before this donation (any source): the plans' "repeat donor", kept on
    # the row so that a province's statistics add it up without a look-up per donation.
    repeat_donor: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    recorded_by: str = Field(max_length=80)
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
