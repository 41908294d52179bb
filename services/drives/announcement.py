"""The announcement of a new drive to the followers of its wards, as a declared message kind.

It is queued as one broadcast and worded when each message is sent, in the follower's language of
that moment; the drive is kept in the parameters as it was published.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from models import Drive
from services.conversation.dialog import Reply
from services.core.i18n import _
from services.drives.views import drive_card
from services.outreach.messages import Message, message_kind

ANNOUNCEMENT = "drive.announcement"


def announcement_message(drive: Drive, ward_codes: list[str], tz: ZoneInfo) -> Message:
    """The announcement of a published drive (free seats: its capacity)."""
    return Message(
        ANNOUNCEMENT,
        {"drive": drive.model_dump(mode="json"), "wards": list(ward_codes), "tz": tz.key},
    )


@message_kind(ANNOUNCEMENT)
def announcement(params: dict[str, Any]) -> Reply:
    """ "📣 New blood drive near you!" and the drive's card with its sign-up button."""
    drive = Drive.model_validate(params["drive"])
    card = drive_card(drive, list(params["wards"]), ZoneInfo(params["tz"]), drive.capacity, None)
    return Reply(_("📣 New blood drive near you!") + "\n\n" + card.text, card.buttons)
