"""The year's plan of a province: targets per commune, ward or unit, as the staff uploaded it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.types import UTCDateTime, utcnow


class Plan(SQLModel, table=True):
    """One plan per province and year; a new upload replaces it whole."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("province_code", "year", name="uq_plans_province_year"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(max_length=4)
    year: int
    filename: str = Field(max_length=200)
    uploaded_by: str = Field(max_length=80)
    uploaded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False)
    )


class PlanUnit(SQLModel, table=True):
    """A line of the plan: a commune or ward (matched to today's wards), or an organisation."""

    __tablename__ = "plan_units"

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    line: int  # the line of the uploaded file, for what staff see
    unit: str = Field(max_length=120)
    # Today's wards the unit covers: one ward, the wards of a former district, or none (an
    # organisation such as the provincial police, whose drives are not tied to a ward).
    ward_codes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    population: int | None = None
    bags: int  # target before conversion
    units: int | None = None  # target after conversion, 250 ml units
    rounds: int | None = None
    months: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    share_before: float | None = None
    share_after: float | None = None
