"""A drive's calendar file and map pin as text, for a channel that carries neither (Zalo).

The .ics is the one services/drives/drive_store.ics_file writes (RFC 5545, times in UTC, GEO
when the drive has coordinates); it is read back here into its date, time, place and a map link.
A `Reply` holding the drive's facts beside the file would spare the reading back; until then the
file is the only place they travel with the reply (the outbox stores it as bytes).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from babel.dates import format_date

from services.conversation.dialog import Document, Venue
from services.core.i18n import _, get_locale

CALENDAR_TYPES = ("text/calendar",)
MAPS_URL = "https://www.google.com/maps/search/?api=1&query={query}"


@dataclass(frozen=True)
class CalendarEvent:
    """The facts of one VEVENT."""

    summary: str
    starts_at: datetime
    ends_at: datetime | None
    location: str
    latitude: float | None = None
    longitude: float | None = None


def is_calendar(document: Document) -> bool:
    """Whether a file is a calendar entry (by its type, else its name)."""
    return document.mime_type in CALENDAR_TYPES or document.filename.lower().endswith(".ics")


def read_event(content: bytes) -> CalendarEvent | None:
    """The first event of an iCalendar file; None when it has none we can read."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    fields: dict[str, str] = {}
    inside = False
    for line in _unfold(text):
        name, _sep, value = line.partition(":")
        key = name.split(";", 1)[0].upper()  # DTSTART;TZID=…: parameters are not used
        if key == "BEGIN" and value.upper() == "VEVENT":
            inside = True
        elif key == "END" and value.upper() == "VEVENT":
            break
        elif key == "BEGIN":  # a VALARM inside the event: its DESCRIPTION is not the event's
            inside = False
        elif key == "END" and value.upper() == "VALARM":
            inside = True
        elif inside and key not in fields:
            fields[key] = value
    starts = _moment(fields.get("DTSTART", ""))
    if starts is None:
        return None
    latitude = longitude = None
    lat, _sep, lon = fields.get("GEO", "").partition(";")
    with contextlib.suppress(ValueError):
        latitude, longitude = float(lat), float(lon)
    return CalendarEvent(
        summary=_unescape(fields.get("SUMMARY", "")),
        starts_at=starts,
        ends_at=_moment(fields.get("DTEND", "")),
        location=_unescape(fields.get("LOCATION", "")),
        latitude=latitude,
        longitude=longitude,
    )


def event_lines(event: CalendarEvent, tz: ZoneInfo) -> list[str]:
    """ "🩸 Hiến máu: …", "🗓 Chủ Nhật, 14/12/2026, 07:30–11:30", "📍 …", "🗺 Bản đồ: …"."""
    lines = [f"🩸 {event.summary}"] if event.summary else []
    lines.append(_("🗓 {when}").format(when=when_text(event.starts_at, event.ends_at, tz)))
    if event.location:
        lines.append(_("📍 {place}").format(place=event.location))
    if event.latitude is not None and event.longitude is not None:
        lines.append(_("🗺 Map: {url}").format(url=maps_url(event.latitude, event.longitude)))
    elif event.location:
        lines.append(_("🗺 Map: {url}").format(url=maps_url_of(event.location)))
    return lines


def venue_lines(venue: Venue) -> list[str]:
    """A map pin as text: the place and a link that opens it in a maps app."""
    return [
        _("📍 {venue}, {address}").format(venue=venue.title, address=venue.address),
        _("🗺 Map: {url}").format(url=maps_url(venue.latitude, venue.longitude)),
    ]


def when_text(starts_at: datetime, ends_at: datetime | None, tz: ZoneInfo) -> str:
    """ "Chủ Nhật, 14/12/2026, 07:30–11:30" in the local time zone (drives/views.when_label's
    wording; that module is to the right of this package)."""
    start = starts_at.astimezone(tz)
    day = format_date(start.date(), "EEEE, dd/MM/yyyy", locale=get_locale())
    hours = f"{start:%H:%M}" if ends_at is None else f"{start:%H:%M}–{ends_at.astimezone(tz):%H:%M}"
    return f"{day[:1].upper()}{day[1:]}, {hours}"


def maps_url(latitude: float, longitude: float) -> str:
    """A link that opens the point in Google Maps (app or browser)."""
    return MAPS_URL.format(query=f"{latitude:.6f},{longitude:.6f}")


def maps_url_of(place: str) -> str:
    """A link that searches the place by its address."""
    return MAPS_URL.format(query=quote(place, safe=""))


def _unfold(text: str) -> list[str]:
    """Content lines with RFC 5545's folding undone (a continuation starts with a space)."""
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]
        elif raw:
            lines.append(raw)
    return lines


def _unescape(value: str) -> str:
    """RFC 5545's TEXT escapes undone."""
    out, escaped = [], False
    for char in value:
        if escaped:
            out.append("\n" if char in "nN" else char)
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            out.append(char)
    return "".join(out)


def _moment(value: str) -> datetime | None:
    """A UTC date-time ("20261214T003000Z"); a floating or dated value is not ours to guess."""
    try:
        return datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None
