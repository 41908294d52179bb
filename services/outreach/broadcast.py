"""/broadcast and /urgent: a leader writes to the donors of their wards, sees the number of
recipients and when it will go out, confirms; the outbox delivers (urgent calls ignore quiet
hours, and carry an "I can come" button whose answers reach the leader).

Both run on steps (services/conversation/steps.py): wards → (blood groups, where, when: urgent
calls only) → text → preview. The preview counts the recipients in the database, so its prompt
waits; the message is queued as a declared kind and worded when sent, in each donor's language.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from models import Donor
from models.types import utcnow
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Turn
from services.conversation.steps import (
    Accept,
    Draft,
    Move,
    Read,
    Step,
    StepFlow,
    done,
    go,
    keep,
    retry,
    stay,
    use_the_buttons,
)
from services.core.i18n import _, ngettext
from services.core.labels import BLOOD_GROUPS
from services.core.text import TELEGRAM_LIMIT, clean_input, utf16_length, visible
from services.core.validation import InputError
from services.donors import follows
from services.knowledge.wards import get_province, get_ward, haversine_km, wards
from services.outreach import fanout, outbox
from services.outreach.audiences import DONORS, FOLLOWERS, Audience
from services.outreach.messages import Message, message_kind
from services.outreach.urgent import CanCome
from services.roles import access
from services.roles.refusals import refuse

BROADCAST = "broadcast"
URGENT = "urgent"

# Telegram counts a message in UTF-16 code units (an emoji is 2). The preview wraps the notice
# in its heading, the wards, the count and when it goes out: FRAMING keeps room for that.
FRAMING = 700
PLACE_LIMIT = 200
UNTIL_LIMIT = 100
NOTICE_LIMIT = TELEGRAM_LIMIT - FRAMING
URGENT_TEXT_LIMIT = NOTICE_LIMIT - PLACE_LIMIT - UNTIL_LIMIT
SHOWN_WARDS = 8  # the preview names this many wards, then "and N more"
NEIGHBOURS = 6  # widening adds at most this many wards…
NEIGHBOUR_FACTOR = 1.8  # …within this many times a chosen ward's nearest-neighbour distance
NEIGHBOUR_MIN_KM = 3.0

URGENT_ONLY = ("group", "place", "until")  # the steps a notice goes without


class ComposeAction(StrEnum):
    """What a button of /broadcast or /urgent does."""

    WARD = "ward"  # first: the province, second: the ward (tick or untick)
    PROVINCE = "province"  # first: the province (every ward of it; staff)
    WARDS_DONE = "wards_done"
    GROUP = "group"  # first: the blood group (tick or untick)
    GROUPS_DONE = "groups_done"
    SKIP = "skip"  # no place, or no time
    WIDEN = "widen"  # add the neighbouring wards
    REGROUP = "regroup"  # back to the blood groups
    SEND = "send"
    DROP = "drop"


@dataclasses.dataclass(frozen=True)
class Compose(ButtonData, kind="bc"):
    """A button of /broadcast or /urgent while the message is being written."""

    action: ComposeAction
    first: str = ""
    second: str = ""


class BroadcastDraft(Draft):
    """The message being written and where it goes (the keys of the JSON rows of old)."""

    wards: list[str] = Field(default_factory=list)
    province: str | None = None
    whole_province: bool = False
    groups: list[str] = Field(default_factory=list)
    group: str | None = None  # an older open flow kept one blood group
    text: str | None = None
    place: str | None = None
    until: str | None = None

    @property
    def blood_groups(self) -> list[str]:
        """The blood groups asked for."""
        if self.groups:
            return list(self.groups)
        return [self.group] if self.group else []

    @property
    def addressed(self) -> bool:
        """Some wards, or a whole province, are chosen."""
        return bool(self.wards) or self.whole_province


class BroadcastFlow(StepFlow[BroadcastDraft]):
    """Wards → (blood groups, for urgent calls) → text → (where, when) → preview → send."""

    draft = BroadcastDraft

    def __init__(
        self,
        name: str,
        tz: ZoneInfo,
        quiet_hours: tuple[time, time],
        may_give_now: Callable[[Donor, date], bool],
    ) -> None:
        self.name = name
        self.urgent = name == URGENT
        self.tz = tz
        self.quiet_hours = quiet_hours
        self.may_give_now = may_give_now
        self.action = access.Action.URGENT if self.urgent else access.Action.BROADCAST
        self.clock: Callable[[], datetime] = utcnow  # tests set the hour
        taps = (Compose,)
        limit = URGENT_TEXT_LIMIT if self.urgent else NOTICE_LIMIT
        super().__init__(
            Step(
                "wards",
                self._ask_wards,
                taps=taps,
                tap=_read_wards,
                save=self._save_wards,
                use_buttons=use_the_buttons,
            ),
            Step(
                "group",
                _ask_groups,
                taps=taps,
                tap=_read_groups,
                save=_save_groups,
                use_buttons=use_the_buttons,
            ),
            Step(
                "text",
                self._ask_text,
                text=_typed(limit, one_line=False),
                save=keep("text"),
                free_text=True,
            ),
            Step(
                "place",
                _ask_place,
                text=_typed(PLACE_LIMIT),
                taps=taps,
                tap=_read_skip,
                save=keep("place"),
                free_text=True,
            ),
            Step(
                "until",
                _ask_until,
                text=_typed(UNTIL_LIMIT),
                taps=taps,
                tap=_read_skip,
                save=keep("until"),
                free_text=True,
            ),
            Step(
                "preview",
                self._ask_preview,
                taps=taps,
                tap=self._read_preview,
                save=self._save_preview,
                use_buttons=use_the_buttons,
            ),
        )

    def path(self, t: Turn, draft: BroadcastDraft) -> list[str]:
        """A notice has no blood groups, place or time."""
        steps = super().path(t, draft)
        return steps if self.urgent else [s for s in steps if s not in URGENT_ONLY]

    async def begin(self, t: Turn) -> list[Reply]:
        """Start, if the person leads a club or is staff/admin."""
        actor = await t.actor()
        if not actor.is_privileged:
            return [refuse(self.action)]
        return await self.start(t, "wards", BroadcastDraft(), history=[])

    async def on_cancel(self, t: Turn) -> str:
        """Drop the message."""
        await t.close()
        return _("Nothing was sent.")

    # ------------------------------------------------------------ wards

    async def _ask_wards(self, t: Turn, draft: BroadcastDraft) -> list[Reply]:
        """Leaders tick their wards; staff may take a whole province."""
        actor = await t.actor()
        rows: list[list[Button]] = []
        for scope in actor.leader_scopes:
            if draft.province not in (None, scope.province_code):
                continue
            for code in sorted(scope.ward_codes):
                ward = get_ward(scope.province_code, code)
                mark = "✅ " if code in draft.wards else "▫️ "
                tick = Compose(ComposeAction.WARD, scope.province_code, code)
                rows.append([tick.button(mark + (ward.name if ward else code))])
        if actor.is_staff and not actor.is_admin:
            for province in sorted(actor.staff_provinces):
                whole = Compose(ComposeAction.PROVINCE, province)
                rows.append([whole.button(_all_wards_of(province))])
        if draft.addressed:
            rows.append([Compose(ComposeAction.WARDS_DONE).button(_("Done ✔"))])
        if self.urgent:
            text = _("Urgent call. Which wards should it reach?")
        else:
            text = _("Notice to donors. Which wards should it reach?")
        if draft.wards and draft.province:
            text += "\n" + _("Chosen: {wards}").format(wards=wards_line(draft))
        return [Reply(text, rows)]

    async def _save_wards(self, t: Turn, draft: BroadcastDraft, tapped: Compose) -> Move:
        """Tick or untick a ward, take a whole province, or go on."""
        if tapped.action is ComposeAction.WARDS_DONE:
            return go()
        actor = await t.actor()
        province = tapped.first
        if tapped.action is ComposeAction.PROVINCE:
            if not access.allowed(actor, self.action, province, []):
                return stay(refuse(self.action, province))
            draft.wards, draft.province, draft.whole_province = [], province, True
            return go()
        code = tapped.second
        if not access.allowed(actor, self.action, province, [code]):
            return stay(refuse(self.action, province, [code]))
        if code in draft.wards:
            draft.wards = [ward for ward in draft.wards if ward != code]
        else:
            draft.wards = [*draft.wards, code]
        draft.province = province if draft.wards else None
        draft.whole_province = False
        return Move()

    # ------------------------------------------------------------ the text

    def _ask_text(self, t: Turn, draft: BroadcastDraft) -> list[Reply]:
        if self.urgent:
            return [Reply(_("What is needed? (e.g. 5 units for a patient in surgery)"))]
        return [Reply(_("Type the notice to send."))]

    # ------------------------------------------------------------ recipients and widening

    async def _followers(self, t: Turn, draft: BroadcastDraft) -> list[Donor]:
        """Active registered donors following the chosen wards (the whole province's)."""
        assert draft.province is not None
        return await follows.followers(t.session, draft.province, draft.wards or None)

    def _reachable(self, donors: list[Donor], draft: BroadcastDraft, today: date) -> list[Donor]:
        """For urgent calls only the groups asked for, and only who may give now."""
        if not self.urgent:
            return donors
        groups = draft.blood_groups
        return [d for d in donors if d.blood_group in groups and self.may_give_now(d, today)]

    def _neighbours(self, actor: access.Actor, draft: BroadcastDraft) -> list[str]:
        """Wards of the same province next to the chosen ones that the person may also
        address, nearest first. "Next to" is read from the ward centres: within a little
        more than the distance to a chosen ward's nearest neighbour (wards in a city are a
        couple of kilometres apart, communes in the hills ten)."""
        if draft.whole_province or not draft.wards or draft.province is None:
            return []
        province = draft.province
        everyone = wards(province)
        chosen = [w for w in everyone if w.code in draft.wards]
        best: dict[str, float] = {}
        for centre in chosen:
            around = sorted(
                (haversine_km(centre.lat, centre.lon, w.lat, w.lon), w.code)
                for w in everyone
                if w.code != centre.code
            )
            if not around:
                continue
            reach = max(NEIGHBOUR_MIN_KM, NEIGHBOUR_FACTOR * around[0][0])
            for km, code in around:
                if km > reach:
                    break
                if code not in draft.wards:
                    best[code] = min(km, best.get(code, km))
        allowed = [
            (km, code)
            for code, km in best.items()
            if access.allowed(actor, self.action, province, [code])
        ]
        return [code for _km, code in sorted(allowed)[:NEIGHBOURS]]

    async def _nobody(
        self, t: Turn, draft: BroadcastDraft, actor: access.Actor, followers: list[Donor]
    ) -> tuple[str, list[list[Button]]]:
        """Why nobody would be reached, and the ways to reach more people."""
        groups = ", ".join(draft.blood_groups)
        if not followers or not self.urgent:
            why = _("Nobody follows these wards yet, so nobody can be reached.")
        else:
            of_group = [d for d in followers if d.blood_group in draft.blood_groups]
            if not of_group:
                why = ngettext(
                    "Nobody can be reached: of the {n} donor following these wards, none is "
                    "of group {groups}.",
                    "Nobody can be reached: of the {n} donors following these wards, none is "
                    "of group {groups}.",
                    len(followers),
                ).format(n=len(followers), groups=groups)
            else:
                why = ngettext(
                    "Nobody can be reached: {m} donor of group {groups} follows these wards, "
                    "but may not give blood now (a recent donation, age or a deferral).",
                    "Nobody can be reached: {m} donors of group {groups} follow these wards, "
                    "but none of them may give blood now (a recent donation, age or a deferral).",
                    len(of_group),
                ).format(m=len(of_group), groups=groups)
        rows: list[list[Button]] = []
        wider = self._neighbours(actor, draft)
        if wider:
            widened = draft.model_copy(update={"wards": [*draft.wards, *wider]})
            more = len(self._reachable(await self._followers(t, widened), draft, t.today))
            label = ngettext(
                "➕ Add {k} neighbouring ward (reaches {m})",
                "➕ Add {k} neighbouring wards (reaches {m})",
                len(wider),
            ).format(k=len(wider), m=more)
            rows.append([Compose(ComposeAction.WIDEN).button(label)])
        province = draft.province or ""
        named = get_province(province)
        if not draft.whole_province and access.allowed(actor, self.action, province, []):
            whole = Compose(ComposeAction.PROVINCE, province)
            rows.append([whole.button(_all_wards_of(province))])
        if not rows and not draft.whole_province:
            why += "\n" + _(
                "Your club covers only these wards. To reach more of {province}, ask its "
                "steering-committee staff."
            ).format(province=named.label if named else province)
        if self.urgent:
            rows.append([Compose(ComposeAction.REGROUP).button(_("🩸 Choose other blood groups"))])
        return why.strip(), rows

    # ------------------------------------------------------------ preview and sending

    def _timing(self, now: datetime) -> tuple[str, datetime]:
        """When the message will go out, said plainly, and that moment (UTC)."""
        start, end = self.quiet_hours
        if self.urgent:
            return _("Urgent calls ignore the quiet hours: it goes out right away."), now
        due = outbox.quiet_hours_not_before(now, self.tz, start, end)
        hours = f"{start:%H:%M}–{end:%H:%M}"
        if start == end:
            return _("It goes out right away."), due
        if due > now:
            return (
                _("Quiet hours now ({hours}): it will go out at {when}.").format(
                    hours=hours, when=self._when(due, now)
                ),
                due,
            )
        return _("It goes out right away (quiet hours are {hours}).").format(hours=hours), due

    def _when(self, due: datetime, now: datetime) -> str:
        """ "07:00 tomorrow morning", "07:00 this morning", "13:00 today", "13:00 tomorrow"."""
        local, today = due.astimezone(self.tz), now.astimezone(self.tz).date()
        clock = f"{local:%H:%M}"
        morning = local.hour < 12
        if local.date() == today:
            return (_("{time} this morning") if morning else _("{time} today")).format(time=clock)
        return (_("{time} tomorrow morning") if morning else _("{time} tomorrow")).format(
            time=clock
        )

    async def _ask_preview(self, t: Turn, draft: BroadcastDraft) -> list[Reply]:
        """What will be sent, to whom, how many people, and when."""
        actor = await t.actor()
        followers = await self._followers(t, draft)
        count = len(self._reachable(followers, draft, t.today))
        text = _("Preview:") + "\n\n" + render_body(self.urgent, draft) + "\n\n"
        text += _("To: {wards}").format(wards=wards_line(draft)) + "\n"
        drop = [Compose(ComposeAction.DROP).button(_("Drop it"))]
        if count == 0:
            why, rows = await self._nobody(t, draft, actor, followers)
            text += why
            return [Reply(text.strip(), [*rows, drop])]
        text += ngettext("It will reach {n} donor.", "It will reach {n} donors.", count).format(
            n=count
        )
        text += "\n" + self._timing(self.clock())[0]
        if self.urgent:
            text += "\n" + _(
                "Each donor gets an “I can come” button; every answer reaches you here, with "
                "the name and phone of those in your wards."
            )
        return [Reply(text, [[Compose(ComposeAction.SEND).button(_("📣 Send"))], drop])]

    def _read_preview(self, t: Turn, draft: BroadcastDraft, tapped: Compose) -> Read | None:
        """Send, drop, widen, the whole province, or (urgent calls) other blood groups."""
        actions = {
            ComposeAction.SEND,
            ComposeAction.DROP,
            ComposeAction.WIDEN,
            ComposeAction.PROVINCE,
        }
        if self.urgent:
            actions.add(ComposeAction.REGROUP)
        return Accept(tapped) if tapped.action in actions else None

    async def _save_preview(self, t: Turn, draft: BroadcastDraft, tapped: Compose) -> Move:
        actor = await t.actor()
        if tapped.action is ComposeAction.SEND:
            return await self._send(t, draft, actor)
        if tapped.action is ComposeAction.DROP:
            await t.close()
            return done(Reply(_("Nothing was sent.")))
        if tapped.action is ComposeAction.REGROUP:
            return go("group")
        if tapped.action is ComposeAction.PROVINCE:
            if not access.allowed(actor, self.action, tapped.first, []):
                return stay(refuse(self.action, tapped.first))
            draft.wards, draft.province, draft.whole_province = [], tapped.first, True
            return Move()
        draft.wards = [*draft.wards, *self._neighbours(actor, draft)]  # widen
        return Move()

    async def _send(self, t: Turn, draft: BroadcastDraft, actor: access.Actor) -> Move:
        """Queue for every recipient, write the audit entry."""
        province, ward_codes = draft.province or "", draft.wards
        if not access.allowed(actor, self.action, province, ward_codes):
            return stay(refuse(self.action, province, ward_codes))
        donors = self._reachable(await self._followers(t, draft), draft, t.today)
        if not donors:  # a stale Send button: say why nobody would get it
            return Move()
        scope = f"province {province} / wards {','.join(ward_codes) or 'all'}"
        now = self.clock()
        _said, not_before = self._timing(now)
        broadcast = await outbox.create_broadcast(
            t.session, self.name, actor.label, scope, progress_chat_id=t.sender.chat_id
        )
        assert broadcast.id is not None
        await fanout.queue_broadcast(
            t.session,
            broadcast,
            recipient_message(self.name, draft, broadcast.id),
            _audience(self.urgent, draft, donors),
            not_before,
        )
        detail: dict[str, Any] = {"broadcast_id": broadcast.id, "recipients": broadcast.total}
        if self.urgent:
            detail["groups"] = draft.blood_groups
        await access.audit(t.session, actor, self.action, scope, **detail)
        await t.close()
        if not_before > now:
            return done(
                Reply(
                    ngettext(
                        "Queued for {n} donor. Because of the quiet hours it will go out at "
                        "{when}; you will see the progress then.",
                        "Queued for {n} donors. Because of the quiet hours it will go out at "
                        "{when}; you will see the progress then.",
                        broadcast.total,
                    ).format(n=broadcast.total, when=self._when(not_before, now))
                )
            )
        return done(
            Reply(
                ngettext(
                    "Queued for {n} donor; progress follows.",
                    "Queued for {n} donors; progress follows.",
                    broadcast.total,
                ).format(n=broadcast.total)
            )
        )


# ------------------------------------------------------------ the questions and their readers


def _ask_groups(t: Turn, draft: BroadcastDraft) -> list[Reply]:
    """Tick one or several blood groups."""
    chosen = draft.blood_groups

    def button(group: str) -> Button:
        tick = Compose(ComposeAction.GROUP, group)
        return tick.button(("✅ " if group in chosen else "") + group)

    rows = [[button(g) for g in BLOOD_GROUPS[:4]], [button(g) for g in BLOOD_GROUPS[4:]]]
    if chosen:
        rows.append([Compose(ComposeAction.GROUPS_DONE).button(_("Done ✔"))])
    text = _("Which blood group is needed? You may tick several.")
    if chosen:
        text += "\n" + _("Chosen: {groups}").format(groups=", ".join(chosen))
    return [Reply(text, rows)]


def _ask_place(t: Turn, draft: BroadcastDraft) -> list[Reply]:
    question = _(
        "Where should donors come? (e.g. Bệnh viện Việt Đức, 40 Tràng Thi, Hoàn Kiếm) You may "
        "skip this."
    )
    return [Reply(question, [[Compose(ComposeAction.SKIP).button(_("Skip ▶"))]])]


def _ask_until(t: Turn, draft: BroadcastDraft) -> list[Reply]:
    question = _("When should they come? (e.g. today before 18:00) You may skip this.")
    return [Reply(question, [[Compose(ComposeAction.SKIP).button(_("Skip ▶"))]])]


def _read_wards(t: Turn, draft: BroadcastDraft, tapped: Compose) -> Read | None:
    """A ward tick, a whole province, or Done once something is chosen."""
    if tapped.action is ComposeAction.WARD and tapped.first and tapped.second:
        return Accept(tapped)
    if tapped.action is ComposeAction.PROVINCE and tapped.first:
        return Accept(tapped)
    if tapped.action is ComposeAction.WARDS_DONE and draft.addressed:
        return Accept(tapped)
    return None


def _read_groups(t: Turn, draft: BroadcastDraft, tapped: Compose) -> Read | None:
    """A blood group tick, or Done once one is chosen."""
    if tapped.action is ComposeAction.GROUP and tapped.first in BLOOD_GROUPS:
        return Accept(tapped.first)
    if tapped.action is ComposeAction.GROUPS_DONE and draft.blood_groups:
        return Accept(None)
    return None


async def _save_groups(t: Turn, draft: BroadcastDraft, group: str | None) -> Move:
    """Tick or untick a group; Done goes on (straight back to the preview when the message is
    already written, as after "choose other blood groups")."""
    if group is None:
        return go("preview") if draft.text else go()
    chosen = draft.blood_groups
    chosen = [g for g in chosen if g != group] if group in chosen else [*chosen, group]
    draft.group, draft.groups = None, [g for g in BLOOD_GROUPS if g in chosen]
    return Move()


def _read_skip(t: Turn, draft: BroadcastDraft, tapped: Compose) -> Read | None:
    """Skip the place or the time."""
    return Accept(None) if tapped.action is ComposeAction.SKIP else None


def _typed(limit: int, one_line: bool = True) -> Callable[[Turn, BroadcastDraft, str], Read]:
    """A reader of a leader's text (the notice, where, when) within `limit`."""

    def read(t: Turn, draft: BroadcastDraft, text: str) -> Read:
        try:
            return Accept(free_text(text, limit, one_line=one_line))
        except InputError as error:
            return retry(str(error))

    return read


def _all_wards_of(province: str) -> str:
    """The label of the whole-province button."""
    label = get_province(province)
    return _("All wards of {province}").format(province=label.name if label else province)


def free_text(text: str, limit: int, one_line: bool = False) -> str:
    """A notice, place or time typed by a leader: something visible, within `limit` UTF-16 code
    units (as Telegram counts: an emoji is 2), NUL and control characters removed."""
    cleaned = clean_input(text).strip()
    if one_line:
        cleaned = " ".join(cleaned.split())
    if not visible(cleaned):
        raise InputError(_("Please type some text."))
    length = utf16_length(cleaned)
    if length > limit:
        raise InputError(
            _(
                "That is too long for one message: {length} characters, at most {limit} (an "
                "emoji counts as 2). Please shorten it."
            ).format(length=length, limit=limit)
        )
    return cleaned


def wards_line(draft: BroadcastDraft) -> str:
    """The wards a message goes to, the first few by name."""
    province = draft.province or ""
    if draft.whole_province:
        return _all_wards_of(province)
    names = []
    for code in draft.wards[:SHOWN_WARDS]:
        ward = get_ward(province, code)
        names.append(ward.name if ward else code)
    line = ", ".join(names)
    if len(draft.wards) > SHOWN_WARDS:
        line += " " + _("and {n} more").format(n=len(draft.wards) - SHOWN_WARDS)
    return line


# ------------------------------------------------ the message as queued (worded when sent)

MESSAGE_FIELDS = ("text", "groups", "group", "place", "until")


def render_body(urgent: bool, draft: BroadcastDraft) -> str:
    """The message as recipients will read it (in the current locale)."""
    if not urgent:
        return _("📢 Notice from your donation club") + "\n" + (draft.text or "")
    groups = draft.blood_groups
    if len(groups) == 1:
        heading = _("🚨 URGENT: blood group {group} needed").format(group=groups[0])
    else:
        heading = _("🚨 URGENT: blood groups {groups} needed").format(groups=", ".join(groups))
    lines = [heading, draft.text or ""]
    if draft.place:
        lines.append(_("📍 Where: {place}").format(place=draft.place))
    if draft.until:
        lines.append(_("🕒 When: {until}").format(until=draft.until))
    return "\n".join(lines)


def recipient_message(name: str, draft: BroadcastDraft, broadcast_id: int) -> Message:
    """What each recipient gets, as a declared kind (worded when sent, in their language)."""
    fields = draft.model_dump(include=set(MESSAGE_FIELDS), exclude_none=True)
    if not fields.get("groups"):
        fields.pop("groups", None)
    return Message(f"outreach.{name}", {"data": fields, "broadcast_id": broadcast_id})


def _audience(urgent: bool, draft: BroadcastDraft, donors: list[Donor]) -> Audience:
    """Followers of the wards; for urgent calls the people the rules let give now (a choice
    made in code, so the recipients are named)."""
    if urgent:
        return Audience(DONORS, {"ids": [d.id for d in donors]})
    return Audience(FOLLOWERS, {"province": draft.province, "wards": draft.wards or None})


@message_kind(f"outreach.{BROADCAST}")
def notice_message(params: dict[str, Any]) -> Reply:
    """A leader's notice."""
    return Reply(render_body(False, BroadcastDraft.model_validate(params["data"])))


@message_kind(f"outreach.{URGENT}")
def urgent_message(params: dict[str, Any]) -> Reply:
    """An urgent call, with its "I can come" button."""
    text = (
        render_body(True, BroadcastDraft.model_validate(params["data"]))
        + "\n\n"
        + _("If you can come, tap “I can come”: the organiser gets your name and phone number.")
    )
    broadcast_id = int(params["broadcast_id"])
    return Reply(text, [[CanCome(broadcast_id).button(_("🙋 I can come"))]])
