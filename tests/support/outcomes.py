"""What an outcome did, read without its wording: the actions refused, the button kinds offered."""

from __future__ import annotations

from services.conversation.buttons import ButtonData, decode
from services.conversation.dialog import Outcome
from services.roles.access import Action


def refusals(outcome: Outcome) -> set[Action]:
    """The privileged actions the outcome refuses."""
    return {Action(reply.refused) for reply in outcome.replies if reply.refused}


def offered(outcome: Outcome) -> set[ButtonData]:
    """The buttons offered, as typed data (kinds no router or flow declares are left out)."""
    found = (decode(b.data) for reply in outcome.replies for row in reply.buttons for b in row)
    return {button for button in found if button is not None}
