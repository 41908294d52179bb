"""Answers to urgent calls: a donor taps "I can come", the leader who sent the call hears of it.

The answer is stored once per person and call (a repeated tap, or a redelivered one after a
crash, counts once), and the leader's message is queued in the outbox in the same transaction,
so it is not lost. The leader gets a count always, and the responder's name and phone only when
the responder lives in a ward the leader is responsible for, and only in the leader's private
chat.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, Donor, OutboxMessage, UrgentResponse
from models.types import utcnow
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.core.i18n import _, ngettext
from services.core.labels import phone_label
from services.outreach import notify
from services.roles import access

URGENT_KIND = "urgent"
ANSWER_KIND = "urgent_answer"
# After this long a call is taken as over: blood is needed within hours, not weeks.
OPEN_FOR = timedelta(days=3)
MAX_ID = 2**31 - 1


class UrgentResponses:
    """The "come:<broadcast id>" button of an urgent call."""

    def __init__(self, tz: ZoneInfo, admin_ids: frozenset[str]) -> None:
        self.tz = tz
        self.admin_ids = admin_ids

    async def answer_can_come(self, t: Turn, button: CanCome) -> list[Reply]:
        """Record that the person can come, tell the leader, thank the person."""
        call = await self._call(t, button.broadcast_id)
        if call is None:
            return [Reply(_("This urgent call is over or was not sent to you. Thank you!"))]
        assert call.id is not None
        if not await _record(t.session, call.id, t.me.id or 0):
            return [Reply(_("You already said you can come; the organiser knows. Thank you!"))]
        shared = await self._tell_leader(t, call)
        if shared:
            text = _(
                "Thank you! The organiser has your name and phone number and may call you. "
                "Please bring your ID card (CCCD) or VNeID."
            )
        else:
            text = _(
                "Thank you! The organiser has been told that one more person can come. "
                "Please go as the call says, and bring your ID card (CCCD) or VNeID."
            )
        return [Reply(text)]

    async def _call(self, t: Turn, broadcast_id: int) -> Broadcast | None:
        """The urgent call, if it is still open and was sent to this person."""
        if not 0 < broadcast_id <= MAX_ID:
            return None
        call = await t.session.get(Broadcast, broadcast_id)
        if call is None or call.kind != URGENT_KIND or utcnow() - call.created_at > OPEN_FOR:
            return None
        sent_to_me = await t.session.exec(
            select(OutboxMessage.id).where(
                col(OutboxMessage.broadcast_id) == call.id,
                col(OutboxMessage.donor_id) == t.me.id,
            )
        )
        return call if sent_to_me.first() is not None else None

    async def _tell_leader(self, t: Turn, call: Broadcast) -> bool:
        """Queue the answer to the call's author; True when their name and phone were shared."""
        assert call.id is not None
        channel, _sep, external_id = call.author.partition(":")
        leader = (
            await t.session.exec(
                select(Donor).where(Donor.channel == channel, Donor.external_id == external_id)
            )
        ).first()
        if leader is None or leader.stopped_at is not None:
            return False
        actor = await access.load_actor(t.session, channel, external_id, self.admin_ids)
        me = t.me
        shared = bool(
            me.province_code
            and me.ward_code
            and access.allowed(actor, access.Action.URGENT, me.province_code, [me.ward_code])
        )
        total = await _count(t.session, call.id)
        sent = call.created_at.astimezone(self.tz).strftime("%H:%M %d/%m")

        def message(_leader: Donor) -> Reply:
            """In the leader's language."""
            so_far = ngettext(
                "So far {n} person can come.", "So far {n} people can come.", total
            ).format(n=total)
            if shared:
                head = _("🙋 {name} ({group}, {phone}) can come for your urgent call of {sent}.")
                text = head.format(
                    name=me.full_name or "—",
                    group=me.blood_group or "—",
                    phone=phone_label(me.phone_e164),
                    sent=sent,
                )
            else:
                text = _(
                    "🙋 One more donor can come for your urgent call of {sent}. They live "
                    "outside your wards, so their name and phone are not shared."
                ).format(sent=sent)
            return Reply(text + "\n" + so_far)

        await notify.queue_to_chat(
            t.session,
            leader,
            notify.private_chat(leader),
            message,
            kind=ANSWER_KIND,
            author="system",
        )
        return shared


async def _record(session: AsyncSession, broadcast_id: int, donor_id: int) -> bool:
    """Store the answer; False when this person had already answered this call."""
    exists = await session.exec(
        select(UrgentResponse.id).where(
            col(UrgentResponse.broadcast_id) == broadcast_id,
            col(UrgentResponse.donor_id) == donor_id,
        )
    )
    if exists.first() is not None:
        return False
    try:
        async with session.begin_nested():  # two taps at once: the unique pair keeps one
            session.add(UrgentResponse(broadcast_id=broadcast_id, donor_id=donor_id))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def _count(session: AsyncSession, broadcast_id: int) -> int:
    """How many people said they can come."""
    result = await session.exec(
        select(func.count())
        .select_from(UrgentResponse)
        .where(col(UrgentResponse.broadcast_id) == broadcast_id)
    )
    return int(result.one())


async def responders(session: AsyncSession, broadcast_id: int) -> list[Donor]:
    """Who said they can come, first answer first."""
    result = await session.exec(
        select(Donor)
        .join(UrgentResponse, col(UrgentResponse.donor_id) == col(Donor.id))
        .where(col(UrgentResponse.broadcast_id) == broadcast_id)
        .order_by(col(UrgentResponse.created_at), col(UrgentResponse.id))
    )
    return list(result.all())


@dataclasses.dataclass(frozen=True)
class CanCome(ButtonData, kind="come"):
    """"I can come", under an urgent call."""

    broadcast_id: int
