"""Reading a Zalo webhook body or getUpdates result into a typed event, and its `Sender`.

An update is `{"event_name": "message.text.received", "message": {"message_id": "2d75…",
"date": 1750316131602, "chat": {"id": "6ede…", "chat_type": "PRIVATE"}, "from": {"id": "6ede…",
"display_name": "Ted", "is_bot": false}, "text": "Xin chào"}}`, seen bare and wrapped in
`{"ok": true, "result": {…}}` (both are read). Ids are strings. The person's name comes as
`display_name`, `name` or `first_name` depending on the source; an image's URL as `photo` (a
string, or a list or object holding `url`) or `photo_url`, and it expires: fetch it at once.

De-duplication is on `dedupe_key` ("event name:message id"): the webhook keeps the recent ones
while this process runs, and the chat service stores each applied key (`handled_events`, in the
turn's transaction), so a delivery repeated after a restart is recognised too, and an older event
arriving after a newer one is still applied.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.conversation.dialog import Sender

CHANNEL = "zalo"


class Kind(StrEnum):
    """What a person sent, as far as the bot reads it."""

    TEXT = "text"
    IMAGE = "image"
    STICKER = "sticker"
    UNSUPPORTED = "unsupported"  # a voice note, a contact card, an event name Zalo adds later


EVENT_KINDS = {
    "message.text.received": Kind.TEXT,
    "message.image.received": Kind.IMAGE,
    "message.sticker.received": Kind.STICKER,
    "message.unsupported.received": Kind.UNSUPPORTED,
    "message.voice.received": Kind.UNSUPPORTED,
}
_NAME_FIELDS = ("display_name", "name", "first_name")


class NotAnEvent(ValueError):
    """The body is not a Zalo message event (the reason says why; no content is quoted)."""


@dataclass(frozen=True)
class ZaloEvent:
    """One message a person sent to the bot."""

    name: str  # Zalo's event_name
    kind: Kind
    message_id: str
    user_id: str
    chat_id: str
    display_name: str | None = None
    private: bool = True
    date_ms: int | None = None
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    from_bot: bool = False

    @property
    def dedupe_key(self) -> str:
        """The event's name and message id: the same delivery twice has the same key."""
        return f"{self.name}:{self.message_id}"

    def sender(self) -> Sender:
        """The channel-neutral sender (Zalo tells no language: the bot's default applies; it
        has no buttons: choices go as numbered lines, answered by typing)."""
        return Sender(
            channel=CHANNEL,
            external_id=self.user_id,
            chat_id=self.chat_id,
            language_code=None,
            event_id=self.dedupe_key,
            private=self.private,
            has_buttons=False,
        )


def unwrap(body: Any) -> Any:
    """The update inside `{"ok": true, "result": …}`, or the body itself when bare."""
    if isinstance(body, dict) and "event_name" not in body and "result" in body:
        return body["result"]
    return body


def parse_json(raw: bytes) -> ZaloEvent:
    """A webhook body as bytes."""
    try:
        body = json.loads(raw)
    except ValueError:  # UnicodeDecodeError is one too
        raise NotAnEvent("not JSON") from None
    return parse_event(body)


def parse_event(body: Any) -> ZaloEvent:
    """One update, wrapped or bare."""
    update = unwrap(body)
    if not isinstance(update, dict):
        raise NotAnEvent("not an object")
    name = update.get("event_name")
    if not isinstance(name, str) or not name:
        raise NotAnEvent("no event_name")
    message = update.get("message")
    if not isinstance(message, dict):
        raise NotAnEvent("no message")
    sender = message.get("from")
    chat = message.get("chat")
    if not isinstance(sender, dict) or not isinstance(chat, dict):
        raise NotAnEvent("no sender or chat")
    user_id, chat_id = _id(sender.get("id")), _id(chat.get("id"))
    message_id = _id(message.get("message_id"))
    if not user_id or not chat_id or not message_id:
        raise NotAnEvent("an id is missing")
    kind = EVENT_KINDS.get(name, Kind.UNSUPPORTED)
    text = message.get("text") if isinstance(message.get("text"), str) else None
    photo = _photo_url(message) if kind is Kind.IMAGE else None
    if kind is Kind.TEXT and text is None or kind is Kind.IMAGE and photo is None:
        kind = Kind.UNSUPPORTED  # nothing to read in it
    chat_type = chat.get("chat_type")
    private = chat_type.upper() == "PRIVATE" if isinstance(chat_type, str) else chat_id == user_id
    caption = message.get("caption")
    return ZaloEvent(
        name=name,
        kind=kind,
        message_id=message_id,
        user_id=user_id,
        chat_id=chat_id,
        display_name=_name(sender),
        private=private,
        date_ms=_date(message.get("date")),
        text=text if kind is Kind.TEXT else None,
        photo_url=photo,
        caption=caption if isinstance(caption, str) and caption else None,
        from_bot=sender.get("is_bot") is True,
    )


def parse_events(result: Any) -> list[ZaloEvent]:
    """getUpdates' result (one update, or a list of them); what is not an event is skipped."""
    updates = result if isinstance(result, list) else [result]
    events = []
    for update in updates:
        try:
            events.append(parse_event(update))
        except NotAnEvent:
            continue
    return events


def _id(value: Any) -> str:
    """An id as a string (Zalo's are strings; a number is taken as its digits)."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _name(sender: dict[str, Any]) -> str | None:
    """The first name field that holds a name."""
    for field in _NAME_FIELDS:
        value = sender.get(field)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _date(value: Any) -> int | None:
    """The message's time in ms, as the event id (positive, or none)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def _photo_url(message: dict[str, Any]) -> str | None:
    """The picture's URL, wherever this payload keeps it."""
    for candidate in (message.get("photo"), message.get("photo_url"), message.get("url")):
        if isinstance(candidate, list):
            candidate = candidate[-1] if candidate else None  # the largest size comes last
        if isinstance(candidate, dict):
            candidate = candidate.get("url")
        if isinstance(candidate, str) and candidate.startswith(("https://", "http://")):
            return candidate
    return None
