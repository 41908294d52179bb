"""How a drive reads to a person, in their language: card, preview, announcement, calendar."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date

from models import Drive
from models.drives import Campaign, DriveStatus, SignupStatus
from services.conversation.dialog import Button, Document, Reply, Venue
from services.core.i18n import _, get_locale, ngettext
from services.drives.buttons import CancelSignup, DraftAction, DraftDrive, JoinWaitlist, SignUp
from services.drives.drive_store import ics_file
from services.knowledge.wards import get_ward


def campaign_label(code: str) -> str:
    """A campaign's name; a Campaign code, or the name a leader typed."""
    names: dict[str, str] = {
        Campaign.CHU_NHAT_DO: _("Chủ nhật Đỏ (Red Sunday)"),
        Campaign.XUAN_HONG: _("Lễ hội Xuân hồng (Pink Spring Festival)"),
        Campaign.NGAY_TOAN_DAN: _(
            "Ngày toàn dân hiến máu tình nguyện 7/4 (National Blood Donation Day)"
        ),
        Campaign.NGAY_QUOC_TE: _("Ngày Quốc tế người hiến máu 14/6 (World Blood Donor Day)"),
        Campaign.HANH_TRINH_DO: _("Hành trình Đỏ (Red Journey)"),
        Campaign.GIOT_HONG_TRI_AN: _("Giọt hồng tri ân (Drops of Gratitude)"),
    }
    return names.get(code, code)


def campaign_buttons() -> list[list[Button]]:
    """The national campaigns, and "another name"."""
    rows = [
        [DraftDrive(DraftAction.CAMPAIGN, code).button(campaign_label(code))] for code in Campaign
    ]
    rows.append([DraftDrive(DraftAction.CAMPAIGN, "other").button(_("Another name…"))])
    return rows


def when_label(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> str:
    """ "Chủ Nhật, 14/12/2026, 07:30–11:30" in the local time zone."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    day = format_date(start.date(), "EEEE, dd/MM/yyyy", locale=get_locale())
    return f"{day[:1].upper()}{day[1:]}, {start:%H:%M}–{end:%H:%M}"


def wards_label(province_code: str, ward_codes: list[str]) -> str:
    """Ward names, comma-separated."""
    names = []
    for code in ward_codes:
        ward = get_ward(province_code, code)
        names.append(ward.name if ward else code)
    return ", ".join(names)


def drive_text(drive: Drive, ward_codes: list[str], tz: ZoneInfo, seats: int | None) -> str:
    """The facts of a drive."""
    lines = [
        f"🩸 {campaign_label(drive.campaign)}",
        _("🗓 {when}").format(when=when_label(drive.starts_at, drive.ends_at, tz)),
        _("📍 {venue}, {address}").format(venue=drive.venue_name, address=drive.address),
        _("🏘 For: {wards}").format(wards=wards_label(drive.province_code, ward_codes)),
        _("🏥 Collected by: {collector}").format(collector=drive.collector),
    ]
    if seats is not None:
        if seats > 0:
            lines.append(ngettext("🪑 {n} seat left", "🪑 {n} seats left", seats).format(n=seats))
        else:
            lines.append(_("🪑 Full: you can join the waiting list"))
    if drive.status == DriveStatus.CANCELLED:
        lines.insert(0, _("❌ CANCELLED"))
    return "\n".join(lines)


def drive_card(
    drive: Drive, ward_codes: list[str], tz: ZoneInfo, seats: int, signup_status: str | None
) -> Reply:
    """The card a citizen sees, with the pin and the sign-up or cancel button."""
    assert drive.id is not None
    text = drive_text(drive, ward_codes, tz, seats)
    buttons: list[list[Button]] = []
    if drive.status == DriveStatus.PUBLISHED:
        if signup_status == SignupStatus.CONFIRMED:
            text += "\n\n" + _("✅ You are signed up.")
            buttons.append([CancelSignup(drive.id or 0).button(_("Cancel my sign-up"))])
        elif signup_status == SignupStatus.WAITING:
            text += "\n\n" + _("⏳ You are on the waiting list.")
            buttons.append([CancelSignup(drive.id or 0).button(_("Leave the waiting list"))])
        elif seats > 0:
            buttons.append([SignUp(drive.id or 0).button(_("✍️ Sign up"))])
        else:
            buttons.append([JoinWaitlist(drive.id or 0).button(_("⏳ Join the waiting list"))])
    venue = None
    if drive.latitude is not None and drive.longitude is not None:
        venue = Venue(drive.latitude, drive.longitude, drive.venue_name, drive.address)
    return Reply(text, buttons, venue=venue)


def calendar_document(drive: Drive, tz: ZoneInfo) -> Document:
    """The .ics file sent after a sign-up."""
    title = _("Blood donation: {campaign}").format(campaign=campaign_label(drive.campaign))
    description = _(
        "Bring your ID card (CCCD) or VNeID. Sleep well, eat a light meal, no alcohol. "
        "The doctor at the screening desk makes the final decision."
    )
    return Document(
        f"hien-mau-{drive.id}.ics", ics_file(drive, title, description), "text/calendar"
    )


# What a change notice compares; the calendar file is sent again when one of these moved.
CHANGE_FIELDS = (
    "starts_at",
    "ends_at",
    "venue_name",
    "address",
    "latitude",
    "longitude",
    "collector",
    "target_units",
    "capacity",
)
CALENDAR_FIELDS = frozenset(
    {"starts_at", "ends_at", "venue_name", "address", "latitude", "longitude"}
)


def drive_snapshot(drive: Drive) -> dict[str, Any]:
    """The compared fields of a drive, taken before a change."""
    return {name: getattr(drive, name) for name in CHANGE_FIELDS}


def changed_fields(before: Mapping[str, Any], drive: Drive) -> set[str]:
    """The fields whose value differs from the snapshot."""
    return {name for name in CHANGE_FIELDS if before.get(name) != getattr(drive, name)}


def change_lines(before: Mapping[str, Any], drive: Drive, tz: ZoneInfo) -> list[str]:
    """One "old → new" line per changed field, in the reader's language."""
    changed = changed_fields(before, drive)
    lines: list[str] = []
    if changed & {"starts_at", "ends_at"}:
        lines.append(
            _("🗓 When: {old} → {new}").format(
                old=when_label(before["starts_at"], before["ends_at"], tz),
                new=when_label(drive.starts_at, drive.ends_at, tz),
            )
        )
    if "venue_name" in changed:
        lines.append(
            _("📍 Venue: {old} → {new}").format(old=before["venue_name"], new=drive.venue_name)
        )
    if "address" in changed:
        lines.append(
            _("🏠 Address: {old} → {new}").format(old=before["address"], new=drive.address)
        )
    if changed & {"latitude", "longitude"} and not changed & {"venue_name", "address"}:
        lines.append(_("📌 The map pin has moved."))
    if "collector" in changed:
        lines.append(
            _("🏥 Collected by: {old} → {new}").format(old=before["collector"], new=drive.collector)
        )
    if "target_units" in changed:
        lines.append(
            _("🎯 Target: {old} → {new} units").format(
                old=before["target_units"], new=drive.target_units
            )
        )
    if "capacity" in changed:
        lines.append(
            _("🪑 Seats: {old} → {new}").format(old=before["capacity"], new=drive.capacity)
        )
    return lines


def change_notice(
    before: Mapping[str, Any],
    drive: Drive,
    ward_codes: list[str],
    tz: ZoneInfo,
    signup_status: str,
) -> Reply:
    """What changed (old → new), the drive as it is now, and for a seat holder a new calendar
    file when the time or place moved."""
    assert drive.id is not None
    text = _("ℹ️ A drive you signed up for has changed:")
    lines = change_lines(before, drive, tz)
    if lines:
        text += "\n" + "\n".join(lines)
    text += "\n\n" + drive_text(drive, ward_codes, tz, None)
    document = None
    if signup_status == SignupStatus.CONFIRMED and changed_fields(before, drive) & CALENDAR_FIELDS:
        text += "\n\n" + _("📎 The updated calendar entry follows; it replaces the old one.")
        document = calendar_document(drive, tz)
    label = (
        _("Cancel my sign-up")
        if signup_status == SignupStatus.CONFIRMED
        else _("Leave the waiting list")
    )
    return Reply(text, [[CancelSignup(drive.id or 0).button(label)]], document=document)


def seat_freed_notice(drive: Drive, ward_codes: list[str], tz: ZoneInfo) -> Reply:
    """To someone moved up from the waiting list: the seat, the drive, its calendar file."""
    assert drive.id is not None
    text = (
        _("🎉 A seat was freed and it is yours:") + "\n\n" + drive_text(drive, ward_codes, tz, None)
    )
    return Reply(
        text,
        [[CancelSignup(drive.id or 0).button(_("Cancel my sign-up"))]],
        document=calendar_document(drive, tz),
    )
