"""What a person reads after opening a walk-in's invitation (services/donations/invitation.py)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from models.donations import CheckinOutcome
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import date_label
from services.donations import desk, history, invitation
from services.donations.invitation import Claim
from services.donations.views import milestone_line, next_eligible_line
from services.eligibility.rules import RuleOptions


async def take_invitation(
    t: Turn, key: bytes, token: str, tz: ZoneInfo, options: RuleOptions | None
) -> list[Reply]:
    """Bring the walk-in's check-in into the registered person's record, and say what it was."""
    claimed = await invitation.claim(
        t.session, key, token, t.me, tz=tz, today=t.today, options=options
    )
    if claimed.result is Claim.INVALID:
        return [Reply(_("This invitation link is not valid. You can use the bot as usual: /help"))]
    if claimed.result is Claim.USED:
        return [
            Reply(
                _(
                    "This invitation has been used already. If a donation of yours is missing "
                    "from /donations, you can add it there, or ask the club at the drive."
                )
            )
        ]
    if claimed.result is Claim.ALREADY_THERE:
        return [Reply(_("That drive already has your own check-in: see /donations."))]
    assert claimed.checkin is not None and claimed.drive is not None
    day = desk.day_of(claimed.drive, tz)
    where = {"venue": claimed.drive.venue_name, "date": date_label(day)}
    if claimed.checkin.outcome == CheckinOutcome.DONATED:
        lines = [
            _(
                "✅ Thank you for giving blood at {venue} on {date}! It is in your donations "
                "now (/donations)."
            ).format(**where)
        ]
        summary = await history.summary(t.session, t.me)
        milestone = milestone_line(summary.count, t.me.province_code)
        if milestone:
            lines.append(milestone)
    else:
        lines = [_("✅ Your visit to {venue} on {date} is in your record now.").format(**where)]
    lines.append(next_eligible_line(t.me, t, options))
    return [Reply("\n".join(lines))]
