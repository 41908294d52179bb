"""How a drive reads to a person, in their language: card, preview, announcement, calendar."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from models import Drive
from services.dialog import Button, Document, Reply, Venue
from services.drives import CAMPAIGNS, ics_file
from services.i18n import _, get_locale, ngettext
from services.wards import get_ward


def campaign_label(code: str) -> str:
    """A campaign's name; a code from CAMPAIGNS, or the name a leader typed."""
    names = {
        "chu_nhat_do": _("Chủ nhật Đỏ (Red Sunday)"),
        "xuan_hong": _("Lễ hội Xuân hồng (Pink Spring Festival)"),
        "ngay_toan_dan": _("Ngày toàn dân hiến máu tình nguyện 7/4 (National Blood Donation Day)"),
        "ngay_quoc_te": _("Ngày Quốc tế người hiến máu 14/6 (World Blood Donor Day)"),
        "hanh_trinh_do": _("Hành trình Đỏ (Red Journey)"),
        "giot_hong_tri_an": _("Giọt hồng tri ân (Drops of Gratitude)"),
    }
    return names.get(code, code)


def campaign_buttons() -> list[list[Button]]:
    """The national campaigns, and "another name"."""
    rows = [[Button(campaign_label(code), f"nd:campaign:{code}")] for code in CAMPAIGNS]
    rows.append([Button(_("Another name…"), "nd:campaign:other")])
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
    if drive.status == "cancelled":
        lines.insert(0, _("❌ CANCELLED"))
    return "\n".join(lines)


def drive_card(
    drive: Drive, ward_codes: list[str], tz: ZoneInfo, seats: int, signup_status: str | None
) -> Reply:
    """The card a citizen sees, with the pin and the sign-up or cancel button."""
    assert drive.id is not None
    text = drive_text(drive, ward_codes, tz, seats)
    buttons: list[list[Button]] = []
    if drive.status == "published":
        if signup_status == "confirmed":
            text += "\n\n" + _("✅ You are signed up.")
            buttons.append([Button(_("Cancel my sign-up"), f"unsign:{drive.id}")])
        elif signup_status == "waiting":
            text += "\n\n" + _("⏳ You are on the waiting list.")
            buttons.append([Button(_("Leave the waiting list"), f"unsign:{drive.id}")])
        elif seats > 0:
            buttons.append([Button(_("✍️ Sign up"), f"signup:{drive.id}")])
        else:
            buttons.append([Button(_("⏳ Join the waiting list"), f"waitlist:{drive.id}")])
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
