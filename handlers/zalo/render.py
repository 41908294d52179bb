"""A `Reply` as the texts Zalo can carry: numbered choices, and said plainly what it cannot carry.

Zalo has no buttons, no share-contact or share-location keyboard, no map pin, no file and takes
pictures only by URL. So: buttons become numbered lines (services/conversation/numbered.py); a
map pin becomes a map link; a drive's calendar file becomes its date, time, place and map link;
any other file, and a picture when no public link can be made for it, a sentence saying it was
not sent; and the whole is split into messages of at most 2,000 characters.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from services.conversation.calendar_text import event_lines, is_calendar, read_event, venue_lines
from services.conversation.dialog import Document, Keyboard, Reply
from services.conversation.numbered import Numbering, Offered, split_text
from services.core.i18n import _

TEXT_LIMIT = 2000


@dataclass
class ZaloMessages:
    """What one reply becomes: its texts in order, then (by URL) its picture."""

    texts: list[str] = field(default_factory=list)
    picture: Document | None = None
    offered: Offered = field(default_factory=Offered)


def zalo_messages(
    reply: Reply,
    tz: ZoneInfo,
    *,
    numbering: Numbering | None = None,
    pictures_by_link: bool = False,
    limit: int = TEXT_LIMIT,
) -> ZaloMessages:
    """The reply as Zalo messages, in the current language. `numbering` runs on across the
    replies of one answer; `pictures_by_link` when a public link can be made for a picture."""
    numbering = numbering if numbering is not None else Numbering()
    first = len(numbering.choices)
    paragraphs = [reply.text] if reply.text else []
    if reply.venue is not None:
        place, link = venue_lines(reply.venue)
        # A drive's text already names its place: the link is what the pin adds.
        paragraphs.append(link if reply.venue.address in reply.text else f"{place}\n{link}")
    if reply.document is not None:
        paragraphs.append(_document_text(reply.document, tz))
    picture = None
    if reply.image is not None:
        if pictures_by_link:
            picture = reply.image
        else:
            paragraphs.append(
                _("🖼 Zalo shows pictures only from a web link, so this picture was not sent.")
            )
    if reply.keyboard is Keyboard.CONTACT:
        paragraphs.append(_("(Zalo has no button to share a phone number: please type it.)"))
    elif reply.keyboard is Keyboard.LOCATION:
        paragraphs.append(_("(Zalo cannot share a location.)"))
    body = "\n\n".join(p for p in paragraphs if p)
    text = numbering.render(dataclasses.replace(reply, text=body))
    offered = Offered(tuple(numbering.choices[first:]))
    return ZaloMessages(split_text(text, limit), picture, offered)


def _document_text(document: Document, tz: ZoneInfo) -> str:
    """A calendar entry as its facts; any other file as the sentence that it was not sent."""
    if is_calendar(document):
        event = read_event(document.content)
        if event is not None:
            lines = event_lines(event, tz)
            lines.append(_("(Zalo cannot carry the calendar file, so here are its details.)"))
            return "\n".join(lines)
    return _("📎 Zalo cannot carry files, so “{name}” was not sent here.").format(
        name=document.filename
    )
