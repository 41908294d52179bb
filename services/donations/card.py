"""/card: the digital donor card, a QR code of a start link that checks the donor in at a drive.

The leader scans it with the phone camera; the link opens the bot in the leader's own chat, which
checks the leader's role, scope and drive of the day (services/donations/checkin). The card shows
the donor's name, blood group, number of donations and the day they may give again, and says it
is a record kept by the bot, not the certificate the blood centre issues.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import segno

from models import Donor
from services.conversation.dialog import Document, Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import blood_group_label, date_label
from services.donations import history
from services.donations.buttons import RotateCard
from services.donations.card_token import make_token
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import RuleOptions

QR_SCALE = 8  # pixels per module: about 260 px for a ~22-character link, sharp on any phone


def qr_png(link: str) -> bytes:
    """The QR code of a link, as a PNG."""
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=QR_SCALE, border=3)
    return buffer.getvalue()


async def card(
    t: Turn,
    key: bytes,
    deep_link: Callable[[str], str],
    options: RuleOptions | None = None,
    title: str | None = None,
) -> list[Reply]:
    """The donor's card: who, group, donations, next eligible day, and the QR code."""
    donor = t.me
    assert donor.id is not None
    summary = await history.summary(t.session, donor)
    verdict = next_eligible(donor, t.today, options)
    if verdict.earliest is None:
        when = _("the screening desk will tell you")
    elif verdict.earliest <= t.today:
        when = _("today")
    else:
        when = date_label(verdict.earliest)
    lines = [
        title or _("🪪 Your donor card"),
        "",
        _("Name: {name}").format(name=donor.full_name or "—"),
        _("Blood group: {group}").format(group=blood_group_label(donor.blood_group)),
        _("Donations recorded: {count}").format(count=summary.count),
        _("You may give again: {when}").format(when=when),
        "",
        _(
            "At the drive, show this QR code at the desk: the organiser scans it and checks you in, "
            "with no forms to fill in again."
        ),
        _(
            "This card is a record kept by the bot. It is not the Giấy chứng nhận hiến máu tình "
            "nguyện, the certificate the blood centre gives you after each donation: keep that one."
        ),
    ]
    link = deep_link(make_token(key, donor.id, donor.card_version))
    picture = Document("donor-card.png", qr_png(link), "image/png")
    rotate = RotateCard().button(_("🔄 New card (the old one stops working)"))
    return [Reply("\n".join(lines), [[rotate]], image=picture)]


async def rotate(
    t: Turn, key: bytes, deep_link: Callable[[str], str], options: RuleOptions | None = None
) -> list[Reply]:
    """A new card version: every QR code shown before reads as no longer valid."""
    donor: Donor = t.me
    donor.card_version += 1
    t.session.add(donor)
    title = _("🪪 Your new donor card. The old one no longer works.")
    return await card(t, key, deep_link, options, title=title)
