"""Where a person is in a multi-step flow, written through on every step so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class FlowName(StrEnum):
    """The open flow of a conversation state (conversation_states.flow).

    The two broadcast flows are named by their broadcast's kind ("broadcast", "urgent"; see
    services/outreach/broadcast.py).
    """

    REGISTER = "register"
    ELIGIBILITY = "eligibility"
    NEW_DRIVE = "newdrive"
    EDIT_DRIVE = "editdrive"
    FOLLOW = "follow"
    DONATED_ELSEWHERE = "elsewhere"
    PLAN_UPLOAD = "plan"
    CHECK_IN = "checkin"


class ConversationState(SQLModel, table=True):
    """One open flow per donor: its name, the step awaiting an answer, and scratch data."""

    __tablename__ = "conversation_states"

    donor_id: int = Field(
        sa_column=Column(Integer, ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True)
    )
    flow: str = Field(max_length=32)  # a FlowName, or a broadcast kind
    step: str = Field(max_length=32)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )
