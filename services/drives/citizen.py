"""What citizens do with drives: list them, open a card, sign up, cancel, follow wards."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from models import Drive
from models.drives import DriveStatus, SignupStatus
from models.types import utcnow
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import date_label
from services.donors import follows
from services.drives import drive_store
from services.drives.buttons import (
    CancelSignup,
    DrivesPage,
    FollowMore,
    SignUp,
    Unfollow,
)
from services.drives.search import drives_from
from services.drives.views import (
    calendar_document,
    drive_card,
    seat_freed_notice,
    when_label,
)
from services.eligibility.donor_status import DayVerdict, eligibility_on
from services.eligibility.onsite import is_onsite, onsite_label
from services.eligibility.rules import DonationKind, RuleOptions
from services.eligibility.texts import (
    EVENT_LABELS,
    RemindMe,
    citation_text,
    event_label,
    reason_line,
    reason_sentence,
)
from services.knowledge.wards import get_ward, ward_label
from services.outreach.notify import notify_donors

PAGE = 3
LATER_DRIVES = 3  # drives offered when a sign-up comes before the donor may give again
VENUE_IN_BUTTON = 28  # characters of the venue's name on a button


async def list_drives(t: Turn, tz: ZoneInfo, page: int = 0) -> list[Reply]:
    """Upcoming drives of the donor's wards first, then of their province, a page at a time."""
    now = utcnow()
    drives, more = await drive_store.upcoming_for(t.session, t.me, now, offset=page * PAGE, limit=PAGE)
    if not drives and page == 0:
        text = _(
            "There are no upcoming drives in your ward or province yet. We will tell you as soon "
            "as one is announced. Follow more wards with /wards."
        )
        return [Reply(text)]
    replies = [await card(t, drive, tz) for drive in drives]
    if more:
        replies.append(Reply(_("More drives:"), [[DrivesPage(page + 1).button(_("Next ▶"))]]))
    return replies


async def card(t: Turn, drive: Drive, tz: ZoneInfo) -> Reply:
    """One drive's card for this donor."""
    assert drive.id is not None
    signup = await drive_store.get_signup(t.session, drive.id, t.me.id or 0)
    status = signup.status if signup is not None else None
    wards = await drive_store.drive_wards(t.session, drive.id)
    return drive_card(drive, wards, tz, await drive_store.seats_left(t.session, drive), status)


async def show(t: Turn, drive_id: int, tz: ZoneInfo) -> list[Reply]:
    """A drive's card by id (from a deep link or a button)."""
    drive = await drive_store.get_drive(t.session, drive_id)
    if drive is None or drive.status == DriveStatus.DRAFT:
        return [Reply(_("This drive does not exist (any more). /drives lists the upcoming ones."))]
    return [await card(t, drive, tz)]


def drive_kind(drive: Drive) -> DonationKind:
    """What a drive collects. Drives record no kind yet: a mobile drive collects whole blood
    (apheresis is done at the blood centres)."""
    return DonationKind.WHOLE_BLOOD


async def sign_up(
    t: Turn,
    drive_id: int,
    tz: ZoneInfo,
    waitlist: bool,
    options: RuleOptions | None = None,
) -> list[Reply]:
    """Take a seat (with a calendar file), or a place on the waiting list; not before the day
    the donor may give again (last donation, saved deferral), said with the date."""
    if not t.me.is_registered:
        return [Reply(_("Please finish registering first: send /start."))]
    too_early = await _not_yet_eligible(t, drive_id, tz, options)
    if too_early is not None:
        return too_early
    result = await drive_store.sign_up(t.session, drive_id, t.me, waitlist=waitlist)
    drive = result.drive
    if result.status == "closed" or drive is None:
        return [Reply(_("Sign-ups for this drive are closed."))]
    if result.status == "full":
        return [Reply(_("The last seat was just taken."), []), await card(t, drive, tz)]
    if result.status in ("already_confirmed", "already_waiting"):
        return [await card(t, drive, tz)]
    if result.status == SignupStatus.WAITING:
        text = _(
            "You are on the waiting list. If a seat is freed, it goes to the first person "
            "waiting, and we will tell you."
        )
        return [Reply(text, [[CancelSignup(drive_id).button(_("Leave the waiting list"))]])]
    done = Reply(
        _("✅ You are signed up. Here is the calendar entry; see you there!"),
        [[CancelSignup(drive_id).button(_("Cancel my sign-up"))]],
        document=calendar_document(drive, tz),
    )
    return [done]


async def _not_yet_eligible(
    t: Turn, drive_id: int, tz: ZoneInfo, options: RuleOptions | None
) -> list[Reply] | None:
    """The refusal when the donor may not give on the drive's day; None to go on signing up
    (a closed drive and an existing sign-up are answered by the sign-up itself)."""
    drive = await drive_store.get_drive(t.session, drive_id)
    if drive is None or drive.status != DriveStatus.PUBLISHED:
        return None
    signup = await drive_store.get_signup(t.session, drive_id, t.me.id or 0)
    if signup is not None and signup.status in (SignupStatus.CONFIRMED, SignupStatus.WAITING):
        return None
    day = drive.starts_at.astimezone(tz).date()
    verdict = eligibility_on(t.me, day, drive_kind(drive), options)
    if verdict.allowed:
        return None
    return await _too_early(t, verdict, tz)


def _saved_reason(code: str) -> str | None:
    """What a "deferred until" date kept from the eligibility check was about."""
    if code in EVENT_LABELS:
        return event_label(code)
    if code.startswith("interval_"):
        return _("your last donation")
    if code == "age_under_min":
        return _("the minimum age")
    return None


def _why(verdict: DayVerdict) -> str:
    """The rule, or the saved check, behind the date."""
    if verdict.reason is not None:
        return _("Why:") + "\n" + reason_line(verdict.reason)
    code = verdict.saved_code or ""
    if is_onsite(code):
        return _("The screening desk of a drive deferred you ({reason}).").format(
            reason=onsite_label(code)
        )
    about = _saved_reason(code)
    if about is None:
        return _("This is the date your eligibility check gave.")
    return _("This is the date your eligibility check gave ({reason}).").format(reason=about)


def _signup_button(drive: Drive, tz: ZoneInfo) -> Button:
    """ "✍️ Sign up: 09/01/2027, Nhà văn hóa…"."""
    venue = drive.venue_name
    if len(venue) > VENUE_IN_BUTTON:
        venue = venue[: VENUE_IN_BUTTON - 1].rstrip() + "…"
    label = _("✍️ Sign up: {date}, {venue}").format(
        date=date_label(drive.starts_at.astimezone(tz).date()), venue=venue
    )
    return SignUp(drive.id or 0).button(label)


async def _too_early(t: Turn, verdict: DayVerdict, tz: ZoneInfo) -> list[Reply]:
    """Say plainly from when the donor may give, and offer the drives after it and a reminder."""
    drive_day = date_label(verdict.day)
    if verdict.earliest is None:
        assert verdict.reason is not None
        text = _("❌ By the rules, you cannot give blood at this drive ({drive_date}).").format(
            drive_date=drive_day
        )
        text += "\n" + reason_sentence(verdict.reason)
        text += f" ({citation_text(verdict.reason.citation)})"
        text += "\n\n" + _(
            "You can still help: share the drives with your family and friends (/drives)."
        )
        return [Reply(text)]
    earliest = date_label(verdict.earliest)
    lines = [
        _("⏳ You may give again from {date}, after the day of this drive ({drive_date}).").format(
            date=earliest, drive_date=drive_day
        ),
        _why(verdict),
        "",
    ]
    start = datetime.combine(verdict.earliest, time(0), tzinfo=tz)
    later = await drives_from(t.session, t.me, start, LATER_DRIVES)
    buttons = [[_signup_button(drive, tz)] for drive in later]
    if later:
        lines.append(_("Drives in your wards from {date}:").format(date=earliest))
        lines += [f"• {when_label(d.starts_at, d.ends_at, tz)}: {d.venue_name}" for d in later]
    else:
        lines.append(
            _(
                "No drive in your wards is announced for {date} or later yet; we will tell you "
                "when one is."
            ).format(date=earliest)
        )
    code = verdict.reason.code if verdict.reason is not None else verdict.saved_code
    remind = _("🔔 Remind me on {date}").format(date=earliest)
    buttons.append([RemindMe(verdict.earliest, code or "deferred").button(remind)])
    return [Reply("\n".join(lines), buttons)]


async def cancel(t: Turn, drive_id: int, tz: ZoneInfo) -> list[Reply]:
    """Give the seat back; the first person waiting gets it and is told."""
    cancelled, promoted = await drive_store.cancel_signup(t.session, drive_id, t.me.id or 0)
    if not cancelled:
        return [Reply(_("You were not signed up for this drive."))]
    drive = await drive_store.get_drive(t.session, drive_id)
    if promoted is not None and drive is not None:
        wards = await drive_store.drive_wards(t.session, drive_id)

        def seat_freed(_donor: object) -> Reply:
            """The message to the person who gets the seat, with the calendar file."""
            return seat_freed_notice(drive, wards, tz)

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
    pairs = await follows.followed_wards(t.session, t.me.id or 0)
    rows = []
    for province_code, ward_code in pairs:
        ward = get_ward(province_code, ward_code)
        label = ward.label if ward else ward_code
        if _is_home(t, province_code, ward_code):
            text = _("✖ {ward} (your own ward)").format(ward=label)
        else:
            text = _("✖ {ward}").format(ward=label)
        rows.append([Unfollow(province_code, ward_code).button(text)])
    rows.append([FollowMore().button(_("➕ Follow another ward"))])
    if pairs:
        text = _("You receive drives and notices for these wards (tap one to unfollow):")
    else:
        text = _("You follow no ward yet.")
    return [Reply(text, rows)]


def _is_home(t: Turn, province_code: str, ward_code: str) -> bool:
    """The ward the donor registered in."""
    return (province_code, ward_code) == (t.me.province_code, t.me.ward_code)


async def unfollow(t: Turn, button: Unfollow) -> list[Reply]:
    """Stop following a ward; the donor's own ward only once they confirm ("yes"/"no")."""
    province_code, ward_code, answer = button.province_code, button.ward_code, button.answer
    name = ward_label(province_code, ward_code)
    donor_id = t.me.id or 0
    if answer == "no":
        kept = Reply(_("All right: you still follow {ward}.").format(ward=name))
        return [kept, *await wards_menu(t)]
    if answer != "yes" and _is_home(t, province_code, ward_code):
        if (province_code, ward_code) not in await follows.followed_wards(t.session, donor_id):
            return await wards_menu(t)
        text = _(
            "{ward} is your own ward. If you stop following it, you will no longer receive "
            "its drives and notices. Stop following it?"
        ).format(ward=name)
        yes = Unfollow(province_code, ward_code, "yes")
        no = Unfollow(province_code, ward_code, "no")
        buttons = [
            [yes.button(_("Yes, stop following {ward}").format(ward=name))],
            [no.button(_("No, keep following it"))],
        ]
        return [Reply(text, buttons)]
    removed = await follows.unfollow(t.session, donor_id, province_code, ward_code)
    done = [Reply(_("You no longer follow {ward}.").format(ward=name))] if removed else []
    return [*done, *await wards_menu(t)]
