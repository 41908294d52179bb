"""The buttons of services/donations, declared once."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from services.conversation.buttons import ButtonData


@dataclasses.dataclass(frozen=True)
class DonatedElsewhere(ButtonData, kind="elsewhere"):
    """Open "I donated elsewhere"."""

    action: str = "open"


class ReportAction(StrEnum):
    """What a button of "I donated elsewhere" does."""

    KIND = "kind"  # value: a DonationKind
    VOLUME = "volume"  # value: ml
    SKIP = "skip"  # no place
    SAVE = "save"
    DROP = "drop"


@dataclasses.dataclass(frozen=True)
class ReportDonation(ButtonData, kind="dx"):
    """A button inside "I donated elsewhere"."""

    action: ReportAction
    value: str = ""


@dataclasses.dataclass(frozen=True)
class RotateCard(ButtonData, kind="card"):
    """Make a new donor card; the old one stops working (a lost phone, a shared screenshot)."""

    action: str = "rotate"
