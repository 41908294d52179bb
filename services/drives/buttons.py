"""The buttons of drives, declared once: what a citizen taps under a drive, and a leader's."""

from __future__ import annotations

import dataclasses
from enum import StrEnum

from services.conversation.buttons import ButtonData


@dataclasses.dataclass(frozen=True)
class DrivesPage(ButtonData, kind="drives"):
    """The next page of upcoming drives."""

    page: int


@dataclasses.dataclass(frozen=True)
class SignUp(ButtonData, kind="signup"):
    """Sign up for a drive."""

    drive_id: int


@dataclasses.dataclass(frozen=True)
class JoinWaitlist(ButtonData, kind="waitlist"):
    """Join a full drive's waiting list."""

    drive_id: int


@dataclasses.dataclass(frozen=True)
class CancelSignup(ButtonData, kind="unsign"):
    """Cancel a sign-up (or leave the waiting list)."""

    drive_id: int


@dataclasses.dataclass(frozen=True)
class Unfollow(ButtonData, kind="unfollow"):
    """Stop following a ward; for the person's own ward, `answer` confirms ("yes"/"no")."""

    province_code: str
    ward_code: str
    answer: str = ""


@dataclasses.dataclass(frozen=True)
class FollowMore(ButtonData, kind="follow"):
    """Follow another ward (opens the follow flow)."""

    action: str = "add"


@dataclasses.dataclass(frozen=True)
class ManageDrive(ButtonData, kind="md"):
    """A leader's /mydrives buttons: edit, change a field, cancel (and confirm), keep."""

    action: str
    drive_id: int = 0
    field: str = ""


@dataclasses.dataclass(frozen=True)
class SignupList(ButtonData, kind="sul"):
    """A leader's view of who signed up for a drive; `export` sends it as a CSV file (an XLSX
    one with `xlsx`)."""

    drive_id: int
    export: bool = False
    xlsx: bool = False


class DraftAction(StrEnum):
    """What a /newdrive button does."""

    CAMPAIGN = "campaign"  # first: the campaign's code, or "other"
    SKIP = "skip"  # no map pin
    WARD = "ward"  # first: the province, second: the ward (tick or untick)
    WARDS_DONE = "wards_done"
    PUBLISH = "publish"
    DROP = "drop"


@dataclasses.dataclass(frozen=True)
class DraftDrive(ButtonData, kind="nd"):
    """A button of /newdrive while the drive is being described."""

    action: DraftAction
    first: str = ""
    second: str = ""
