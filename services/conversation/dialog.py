"""Channel-neutral messages: what a person sent, and what the bot answers.

Telegram handlers, the console and the Zalo adapter translate to and from these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from models import Donor

if TYPE_CHECKING:  # numbered.py builds on this module's Reply and Button
    from services.conversation.numbered import Offered


@dataclass(frozen=True)
class Sender:
    """Who wrote, on which channel, and the id of the event (for de-duplication after a crash)."""

    channel: str
    external_id: str
    chat_id: str
    language_code: str | None = None
    # The event's key on its channel: Telegram's update id, Zalo's "event name:message id".
    event_id: int | str | None = None
    # Only a private chat may become where the person's messages go (never a group's id).
    private: bool = True
    # False on a channel without buttons (Zalo): choices are numbered lines, answered by typing
    # a number or the choice's words, and the numbers shown are kept with the person.
    has_buttons: bool = True


@dataclass(frozen=True)
class Button:
    """A choice shown under a message; `data` comes back when it is tapped (at most 64 bytes)."""

    label: str
    data: str


class Keyboard(StrEnum):
    """A keyboard that replaces the person's own (Telegram's reply keyboard)."""

    CONTACT = "contact"  # one button: share my phone number
    LOCATION = "location"  # one button: share my location
    REMOVE = "remove"  # take the keyboard away


@dataclass(frozen=True)
class Venue:
    """A map pin sent before the message (Telegram's sendVenue)."""

    latitude: float
    longitude: float
    title: str
    address: str


@dataclass(frozen=True)
class Document:
    """A file sent after the message (e.g. a drive's .ics calendar entry)."""

    filename: str
    content: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Upload:
    """A file a person sent (a plan's spreadsheet). `content` is None when the channel did not
    fetch it because it is larger than `limit` (its size is then the channel's word)."""

    filename: str
    size: int
    content: bytes | None


@dataclass
class Reply:
    """One message to send: text, inline choices, or a reply keyboard (never both).

    A venue pin is sent just before the text; a document and a picture just after it.
    """

    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    keyboard: Keyboard | None = None
    keyboard_label: str = ""
    venue: Venue | None = None
    document: Document | None = None
    image: Document | None = None  # a picture (PNG): a donor card's QR code, a chart
    # The privileged action this reply refuses (services/roles/refusals), never shown: what the
    # channel logs count and the tests assert, whatever the wording.
    refused: str | None = None


@dataclass(frozen=True)
class Notice:
    """A message to another person than the one chatting, rendered in their language and queued
    by the router (services/chat) in the same transaction as the change it tells of."""

    recipient: Donor
    message: Callable[[Donor], Reply]
    kind: str
    author: str


@dataclass
class Outcome:
    """Everything a handler must render for one incoming event."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None  # short notice on a tapped button
    menu_locale: str | None = None  # the person switched language: localise their command menu
    notices: list[Notice] = field(default_factory=list)  # to other people, queued by the router
    # On a channel without buttons: the numbers the router gave the replies' buttons and stored
    # with the person; the channel shows these numbers (numbered.Numbering's `planned`).
    offered: Offered | None = None

    def add(self, *replies: Reply) -> Outcome:
        """Append replies, returning self for chaining."""
        self.replies.extend(replies)
        return self


def _plain(reply: Reply) -> bool:
    """Text alone (a keyboard's removal at most): it can go on top of the next message."""
    return (
        bool(reply.text)
        and not reply.buttons
        and reply.keyboard in (None, Keyboard.REMOVE)
        and reply.venue is None
        and reply.document is None
        and reply.image is None
    )


def joined(replies: list[Reply], max_chars: int) -> list[Reply]:
    """The replies in as few messages as they fit: plain text goes on top of the message that
    follows it ("Saved." above the next question; an error above the question asked again).

    Each message spends one of the bot's ~30 sends a second and rings the person's phone once;
    a tap or an answer costs one message, not two. Nothing joins into a message led by a map
    pin (the pin comes first), nor keeps two keyboards, nor passes `max_chars`."""
    out: list[Reply] = []
    held: Reply | None = None
    for reply in replies:
        if held is not None:
            text = f"{held.text}\n\n{reply.text}" if reply.text else held.text
            removal = held.keyboard is Keyboard.REMOVE
            fits = len(text) <= max_chars and reply.venue is None
            if fits and not (removal and (reply.buttons or reply.keyboard is not None)):
                reply = replace(
                    reply,
                    text=text,
                    keyboard=reply.keyboard or held.keyboard,
                    refused=reply.refused or held.refused,
                )
            else:
                out.append(held)
            held = None
        if _plain(reply):
            held = reply
        else:
            out.append(reply)
    if held is not None:
        out.append(held)
    return out
