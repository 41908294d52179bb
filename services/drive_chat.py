"""What citizens do with drives: list them, open a card, sign up, cancel, follow wards."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from models import Drive
from models.types import utcnow
from services import drives as repo
from services.dialog import Button, Reply
from services.drive_views import calendar_document, drive_card, drive_text
from services.flows.base import Turn
from services.i18n import _
from services.notify import notify_donors
from services.wards import get_ward

PAGE = 3


async def list_drives(t: Turn, tz: ZoneInfo, page: int = 0) -> list[Reply]:
    """Upcoming drives of the donor's wards first, then of their province, a page at a time."""
    now = utcnow()
    drives, more = await repo.upcoming_for(t.session, t.me, now, offset=page * PAGE, limit=PAGE)
    if not drives and page == 0:
        text = _(
            "There are no upcoming drives in your ward or province yet. We will tell you as soon "
            "as one is announced. Follow more wards with /wards."
        )
        return [Reply(text)]
    replies = [await card(t, drive, tz) for drive in drives]
    if more:
        replies.append(Reply(_("More drives:"), [[Button(_("Next ▶"), f"drives:{page + 1}")]]))
    return replies


async def card(t: Turn, drive: Drive, tz: ZoneInfo) -> Reply:
    """One drive's card for this donor."""
    assert drive.id is not None
    signup = await repo.get_signup(t.session, drive.id, t.me.id or 0)
    status = signup.status if signup is not None else None
    wards = await repo.drive_wards(t.session, drive.id)
    return drive_card(drive, wards, tz, await repo.seats_left(t.session, drive), status)


async def show(t: Turn, drive_id: int, tz: ZoneInfo) -> list[Reply]:
    """A drive's card by id (from a deep link or a button)."""
    drive = await repo.get_drive(t.session, drive_id)
    if drive is None or drive.status == repo.DRAFT:
        return [Reply(_("This drive does not exist (any more). /drives lists the upcoming ones."))]
    return [await card(t, drive, tz)]


async def sign_up(t: Turn, drive_id: int, tz: ZoneInfo, waitlist: bool) -> list[Reply]:
    """Take a seat (with a calendar file), or a place on the waiting list."""
    if not t.me.is_registered:
        return [Reply(_("Please finish registering first: send /start."))]
    result = await repo.sign_up(t.session, drive_id, t.me, waitlist=waitlist)
    drive = result.drive
    if result.status == "closed" or drive is None:
        return [Reply(_("Sign-ups for this drive are closed."))]
    if result.status == "full":
        return [Reply(_("The last seat was just taken."), []), await card(t, drive, tz)]
    if result.status in ("already_confirmed", "already_waiting"):
        return [await card(t, drive, tz)]
    if result.status == "waiting":
        text = _(
            "You are on the waiting list. If a seat is freed, it goes to the first person "
            "waiting, and we will tell you."
        )
        return [Reply(text, [[Button(_("Leave the waiting list"), f"unsign:{drive_id}")]])]
    done = Reply(
        _("✅ You are signed up. Here is the calendar entry; see you there!"),
        [[Button(_("Cancel my sign-up"), f"unsign:{drive_id}")]],
        document=calendar_document(drive, tz),
    )
    return [done]


async def cancel(t: Turn, drive_id: int, tz: ZoneInfo) -> list[Reply]:
    """Give the seat back; the first person waiting gets it and is told."""
    cancelled, promoted = await repo.cancel_signup(t.session, drive_id, t.me.id or 0)
    if not cancelled:
        return [Reply(_("You were not signed up for this drive."))]
    drive = await repo.get_drive(t.session, drive_id)
    if promoted is not None and drive is not None:
        wards = await repo.drive_wards(t.session, drive_id)

        def seat_freed(_donor: object) -> Reply:
            """The message to the person who gets the seat."""
            text = _("🎉 A seat was freed and it is yours:") + "\n\n"
            text += drive_text(drive, wards, tz, None)
            return Reply(text, [[Button(_("Cancel my sign-up"), f"unsign:{drive_id}")]])

        await notify_donors(
            t.session,
            [promoted.donor_id],
            seat_freed,
            kind="seat_freed",
            author="system",
            drive_id=drive_id,
        )
    return [Reply(_("Your sign-up is cancelled. Thank you for letting us know."))]


async def wards_menu(t: Turn) -> list[Reply]:
    """The wards a donor follows, with buttons to unfollow, and a way to add one."""
    pairs = await repo.followed_wards(t.session, t.me.id or 0)
    rows = []
    for province_code, ward_code in pairs:
        ward = get_ward(province_code, ward_code)
        label = ward.label if ward else ward_code
        rows.append(
            [Button(_("✖ {ward}").format(ward=label), f"unfollow:{province_code}:{ward_code}")]
        )
    rows.append([Button(_("➕ Follow another ward"), "follow:add")])
    if pairs:
        text = _("You receive drives and notices for these wards (tap one to unfollow):")
    else:
        text = _("You follow no ward yet.")
    return [Reply(text, rows)]


async def unfollow(t: Turn, province_code: str, ward_code: str) -> list[Reply]:
    """Stop following a ward."""
    await repo.unfollow(t.session, t.me.id or 0, province_code, ward_code)
    return await wards_menu(t)
