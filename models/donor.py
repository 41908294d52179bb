"""A person who chats with the bot and, after consenting, registers as a volunteer donor."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Sex(StrEnum):
    """A donor's sex (donors.sex), the one the weight rules distinguish."""

    MALE = "male"
    FEMALE = "female"


class BloodGroup(StrEnum):
    """A blood group as donors give it (donors.blood_group), or "unknown" when they do not know.

    "unknown" is services.core.labels.UNKNOWN_BLOOD_GROUP, not a group.
    """

    A_POSITIVE = "A+"
    A_NEGATIVE = "A-"
    B_POSITIVE = "B+"
    B_NEGATIVE = "B-"
    AB_POSITIVE = "AB+"
    AB_NEGATIVE = "AB-"
    O_POSITIVE = "O+"
    O_NEGATIVE = "O-"


class DonationKind(StrEnum):
    """What is collected: whole blood, or one component by apheresis (gạn tách).

    donors.last_donation_kind holds one of these, or "never" (services.core.labels.NEVER_DONATED).
    """

    WHOLE_BLOOD = "whole_blood"
    RED_CELLS = "red_cells"
    PLATELETS = "platelets"
    PLASMA = "plasma"


class DonorBase(SQLModel):
    """The profile fields a donor gives, one registration step each."""

    full_name: str | None = Field(default=None, max_length=100)
    date_of_birth: date | None = None
    sex: str | None = Field(default=None, max_length=8)  # a Sex
    phone_e164: str | None = Field(default=None, max_length=16)
    province_code: str | None = Field(default=None, max_length=4)
    ward_code: str | None = Field(default=None, max_length=8)
    blood_group: str | None = Field(default=None, max_length=8)  # a BloodGroup or "unknown"
    last_donation_kind: str | None = Field(default=None, max_length=16)  # a DonationKind or "never"
    last_donation_date: date | None = None
    # From the eligibility check, kept only with consent: a date and a reason code, never answers.
    deferred_until: date | None = None
    deferral_code: str | None = Field(default=None, max_length=32)


class Donor(DonorBase, table=True):
    """One row per person per channel; nothing is stored before the consent tap."""

    __tablename__ = "donors"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_donors_channel_external"),
        # The reminder sweep reads only donors with a reminder due.
        Index(
            "ix_donors_remind_due",
            "remind_on",
            "remind_hour",
            postgresql_where=text("remind_on IS NOT NULL"),
            sqlite_where=text("remind_on IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)  # "telegram", later "zalo"
    external_id: str = Field(max_length=64)  # the channel's user id
    chat_id: str = Field(max_length=64)  # where to send messages
    locale: str = Field(default="vi", max_length=8)
    consent_version: str = Field(max_length=32)
    consented_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    registered_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set by /stop or when the channel says the person blocked us; cleared by /start.
    stopped_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # "You may give again" (services/reminders): the day to remind (the next eligible date, or the
    # day a snooze ends), None when nothing is due; the local hour; whether the donor wants them.
    remind_on: date | None = None
    remind_hour: int = Field(default=9)
    eligible_reminders: bool = True
    # The donor card's version: a rotated card (a higher version) invalidates the old QR code.
    card_version: int = Field(default=1)
    # On a channel without buttons (Zalo): the numbered choices shown last and when, so that a
    # "2" typed later, even after a restart, picks what the person saw
    # (services/conversation/offered_store.py). None when the last answer offered none.
    offered: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )

    @property
    def is_registered(self) -> bool:
        """The person confirmed the registration summary."""
        return self.registered_at is not None

    @property
    def is_stopped(self) -> bool:
        """The person asked for no messages."""
        return self.stopped_at is not None
