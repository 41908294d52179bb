"""/broadcast and /urgent: a leader writes to the donors of their wards, sees the number of
recipients and when it will go out, confirms; the outbox delivers (urgent calls ignore quiet
hours, and carry an "I can come" button whose answers reach the leader)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from models import Donor
from models.types import utcnow
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Flow, Turn
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

# Free-form answers (a "?" in them is part of the message, not a question to the bot).
FREE_TEXT_STEPS = frozenset({"text", "place", "until"})


class BroadcastFlow(Flow):
    """Wards → (blood groups, for urgent calls) → text → (where, when) → preview → send."""

    prefixes = ("bc",)

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
        self.order = (
            ["wards", "group", "text", "place", "until", "preview"]
            if self.urgent
            else ["wards", "text", "preview"]
        )

    def takes_free_text(self, step: str) -> bool:
        """The steps whose text is a message written by the leader (notice, where, when)."""
        return step in FREE_TEXT_STEPS

    async def begin(self, t: Turn) -> list[Reply]:
        """Start, if the person leads a club or is staff/admin."""
        actor = await t.actor()
        if not actor.is_privileged:
            return [refuse(self.action)]
        await t.goto(self.name, "wards", {"wards": []})
        return [self._wards_question({"wards": []}, actor)]

    def _scopes(self, actor: access.Actor) -> list[tuple[str, list[str]]]:
        """(province, wards) pairs the person may address; staff: whole provinces."""
        pairs = [(s.province_code, sorted(s.ward_codes)) for s in actor.leader_scopes]
        return pairs

    def _wards_question(self, data: dict[str, Any], actor: access.Actor) -> Reply:
        """Tick wards (leaders), or type a ward (staff, admins)."""
        chosen: list[str] = data.get("wards", [])
        rows: list[list[Button]] = []
        for province, codes in self._scopes(actor):
            if data.get("province") not in (None, province):
                continue
            for code in codes:
                ward = get_ward(province, code)
                mark = "✅ " if code in chosen else "▫️ "
                rows.append(
                    [Button(mark + (ward.name if ward else code), f"bc:ward:{province}:{code}")]
                )
        if actor.is_staff and not actor.is_admin:
            for province in sorted(actor.staff_provinces):
                label = get_province(province)
                rows.append(
                    [
                        Button(
                            _("All wards of {province}").format(
                                province=label.name if label else province
                            ),
                            f"bc:province:{province}",
                        )
                    ]
                )
        if chosen or data.get("whole_province"):
            rows.append([Button(_("Done ✔"), "bc:wards_done")])
        if self.urgent:
            text = _("Urgent call. Which wards should it reach?")
        else:
            text = _("Notice to donors. Which wards should it reach?")
        if chosen and data.get("province"):
            text += "\n" + _("Chosen: {wards}").format(wards=_wards_line(data))
        return Reply(text, rows)

    def _groups_question(self, data: dict[str, Any]) -> Reply:
        """Tick one or several blood groups."""
        chosen = _groups(data)

        def button(group: str) -> Button:
            return Button(("✅ " if group in chosen else "") + group, f"bc:group:{group}")

        rows = [[button(g) for g in BLOOD_GROUPS[:4]], [button(g) for g in BLOOD_GROUPS[4:]]]
        if chosen:
            rows.append([Button(_("Done ✔"), "bc:groups_done")])
        text = _("Which blood group is needed? You may tick several.")
        if chosen:
            text += "\n" + _("Chosen: {groups}").format(groups=", ".join(chosen))
        return Reply(text, rows)

    def ask(self, step: str, data: dict[str, Any], actor: access.Actor) -> list[Reply]:
        """The question for a step."""
        skip = [[Button(_("Skip ▶"), "bc:skip")]]
        if step == "wards":
            return [self._wards_question(data, actor)]
        if step == "group":
            return [self._groups_question(data)]
        if step == "text":
            if self.urgent:
                return [Reply(_("What is needed? (e.g. 5 units for a patient in surgery)"))]
            return [Reply(_("Type the notice to send."))]
        if step == "place":
            return [
                Reply(
                    _(
                        "Where should donors come? (e.g. Bệnh viện Việt Đức, 40 Tràng Thi, "
                        "Hoàn Kiếm) You may skip this."
                    ),
                    skip,
                )
            ]
        if step == "until":
            return [
                Reply(
                    _("When should they come? (e.g. today before 18:00) You may skip this."),
                    skip,
                )
            ]
        return []

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again (the preview is rebuilt)."""
        assert t.state is not None
        if t.state.step == "preview":
            return [await self._preview(t, t.data, await t.actor())]
        return self.ask(t.state.step, t.data, await t.actor())

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """The message itself, or where and when to come."""
        assert t.state is not None
        step = t.state.step
        actor = await t.actor()
        if step not in FREE_TEXT_STEPS:
            return [Reply(_("Please use the buttons above.")), *await self.prompt(t)]
        limit = {"place": PLACE_LIMIT, "until": UNTIL_LIMIT}.get(
            step, URGENT_TEXT_LIMIT if self.urgent else NOTICE_LIMIT
        )
        try:
            value = free_text(text, limit, one_line=step != "text")
        except InputError as error:
            return [Reply(str(error)), *self.ask(step, t.data, actor)]
        data = {**t.data, step: value}
        return await self._next(t, step, data, actor)

    async def _next(
        self, t: Turn, step: str, data: dict[str, Any], actor: access.Actor
    ) -> list[Reply]:
        """On to the step after `step`."""
        following = self.order[self.order.index(step) + 1]
        await t.goto(self.name, following, data)
        if following == "preview":
            return [await self._preview(t, data, actor)]
        return self.ask(following, data, actor)

    async def on_choice(self, t: Turn, value: str) -> list[Reply] | None:
        """Ward ticks, blood groups, skip, widen, send or drop."""
        assert t.state is not None
        step, data = t.state.step, dict(t.data)
        actor = await t.actor()
        parts = value.split(":")
        action = parts[1] if len(parts) > 1 else ""
        if step == "wards" and action == "ward" and len(parts) == 4:
            province, code = parts[2], parts[3]
            if not access.allowed(actor, self.action, province, [code]):
                return [refuse(self.action, province, [code])]
            chosen = list(data.get("wards", []))
            if code in chosen:
                chosen.remove(code)
            else:
                chosen.append(code)
            data.update(wards=chosen, province=province if chosen else None, whole_province=False)
            await t.goto(self.name, "wards", data)
            return [self._wards_question(data, actor)]
        if step in ("wards", "preview") and action == "province" and len(parts) == 3:
            if not access.allowed(actor, self.action, parts[2], []):
                return [refuse(self.action, parts[2])]
            data.update(wards=[], province=parts[2], whole_province=True)
            if step == "preview":
                await t.goto(self.name, "preview", data)
                return [await self._preview(t, data, actor)]
            return await self._next(t, "wards", data, actor)
        if (
            step == "wards"
            and action == "wards_done"
            and (data.get("wards") or data.get("whole_province"))
        ):
            return await self._next(t, "wards", data, actor)
        if step == "group" and action == "group" and len(parts) == 3 and parts[2] in BLOOD_GROUPS:
            chosen = _groups(data)
            chosen = (
                [g for g in chosen if g != parts[2]] if parts[2] in chosen else [*chosen, parts[2]]
            )
            data.pop("group", None)
            data["groups"] = [g for g in BLOOD_GROUPS if g in chosen]
            await t.goto(self.name, "group", data)
            return [self._groups_question(data)]
        if step == "group" and action == "groups_done" and _groups(data):
            if data.get("text"):  # back from the preview to change the groups
                await t.goto(self.name, "preview", data)
                return [await self._preview(t, data, actor)]
            return await self._next(t, "group", data, actor)
        if step in ("place", "until") and action == "skip":
            data.pop(step, None)
            return await self._next(t, step, data, actor)
        if step == "preview" and action == "widen":
            wider = self._neighbours(actor, data)
            if not wider:
                return [await self._preview(t, data, actor)]
            data.update(wards=[*data["wards"], *wider])
            await t.goto(self.name, "preview", data)
            return [await self._preview(t, data, actor)]
        if step == "preview" and action == "regroup" and self.urgent:
            await t.goto(self.name, "group", data)
            return [self._groups_question(data)]
        if step == "preview" and action == "send":
            return await self._send(t, data, actor)
        if step == "preview" and action == "drop":
            await t.close()
            return [Reply(_("Nothing was sent."))]
        return None

    async def on_back(self, t: Turn) -> list[Reply]:
        """One step back."""
        assert t.state is not None
        index = self.order.index(t.state.step)
        if index == 0:
            return [Reply(_("This is the first question.")), *await self.prompt(t)]
        await t.goto(self.name, self.order[index - 1], t.data)
        return await self.prompt(t)

    async def on_cancel(self, t: Turn) -> str:
        """Drop the message."""
        await t.close()
        return _("Nothing was sent.")

    # ------------------------------------------------------------ recipients and widening

    async def _followers(self, t: Turn, data: dict[str, Any]) -> list[Donor]:
        """Active registered donors following the chosen wards (the whole province's)."""
        return await follows.followers(t.session, data["province"], data.get("wards") or None)

    def _reachable(self, donors: list[Donor], data: dict[str, Any], today: date) -> list[Donor]:
        """For urgent calls only the groups asked for, and only who may give now."""
        if not self.urgent:
            return donors
        groups = _groups(data)
        return [d for d in donors if d.blood_group in groups and self.may_give_now(d, today)]

    async def _recipients(self, t: Turn, data: dict[str, Any]) -> list[Donor]:
        """Who the message would reach."""
        return self._reachable(await self._followers(t, data), data, t.today)

    def _neighbours(self, actor: access.Actor, data: dict[str, Any]) -> list[str]:
        """Wards of the same province next to the chosen ones that the person may also
        address, nearest first. "Next to" is read from the ward centres: within a little
        more than the distance to a chosen ward's nearest neighbour (wards in a city are a
        couple of kilometres apart, communes in the hills ten)."""
        if data.get("whole_province") or not data.get("wards"):
            return []
        province = data["province"]
        everyone = wards(province)
        chosen = [w for w in everyone if w.code in data["wards"]]
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
                if code not in data["wards"]:
                    best[code] = min(km, best.get(code, km))
        allowed = [
            (km, code)
            for code, km in best.items()
            if access.allowed(actor, self.action, province, [code])
        ]
        return [code for _km, code in sorted(allowed)[:NEIGHBOURS]]

    async def _nobody(
        self, t: Turn, data: dict[str, Any], actor: access.Actor, followers: list[Donor]
    ) -> tuple[str, list[list[Button]]]:
        """Why nobody would be reached, and the ways to reach more people."""
        groups = ", ".join(_groups(data))
        if not followers or not self.urgent:
            why = _("Nobody follows these wards yet, so nobody can be reached.")
        else:
            of_group = [d for d in followers if d.blood_group in _groups(data)]
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
        wider = self._neighbours(actor, data)
        if wider:
            widened = {**data, "wards": [*data["wards"], *wider]}
            more = len(self._reachable(await self._followers(t, widened), data, t.today))
            label = ngettext(
                "➕ Add {k} neighbouring ward (reaches {m})",
                "➕ Add {k} neighbouring wards (reaches {m})",
                len(wider),
            ).format(k=len(wider), m=more)
            rows.append([Button(label, "bc:widen")])
        province = data["province"]
        named = get_province(province)
        if not data.get("whole_province") and access.allowed(actor, self.action, province, []):
            label = _("All wards of {province}").format(province=named.name if named else province)
            rows.append([Button(label, f"bc:province:{province}")])
        if not rows and not data.get("whole_province"):
            why += "\n" + _(
                "Your club covers only these wards. To reach more of {province}, ask its "
                "steering-committee staff."
            ).format(province=named.label if named else province)
        if self.urgent:
            rows.append([Button(_("🩸 Choose other blood groups"), "bc:regroup")])
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

    async def _preview(self, t: Turn, data: dict[str, Any], actor: access.Actor) -> Reply:
        """What will be sent, to whom, how many people, and when."""
        followers = await self._followers(t, data)
        count = len(self._reachable(followers, data, t.today))
        text = _("Preview:") + "\n\n" + self._render_body(data) + "\n\n"
        text += _("To: {wards}").format(wards=_wards_line(data)) + "\n"
        if count == 0:
            why, rows = await self._nobody(t, data, actor, followers)
            text += why
            return Reply(text.strip(), [*rows, [Button(_("Drop it"), "bc:drop")]])
        text += ngettext("It will reach {n} donor.", "It will reach {n} donors.", count).format(
            n=count
        )
        text += "\n" + self._timing(self.clock())[0]
        if self.urgent:
            text += "\n" + _(
                "Each donor gets an “I can come” button; every answer reaches you here, with "
                "the name and phone of those in your wards."
            )
        buttons = [[Button(_("📣 Send"), "bc:send")], [Button(_("Drop it"), "bc:drop")]]
        return Reply(text, buttons)

    def _render_body(self, data: dict[str, Any]) -> str:
        """The message as recipients will read it (in the current locale)."""
        if not self.urgent:
            return _("📢 Notice from your donation club") + "\n" + data["text"]
        groups = _groups(data)
        if len(groups) == 1:
            heading = _("🚨 URGENT: blood group {group} needed").format(group=groups[0])
        else:
            heading = _("🚨 URGENT: blood groups {groups} needed").format(groups=", ".join(groups))
        lines = [heading, data["text"]]
        if data.get("place"):
            lines.append(_("📍 Where: {place}").format(place=data["place"]))
        if data.get("until"):
            lines.append(_("🕒 When: {until}").format(until=data["until"]))
        return "\n".join(lines)

    def _recipient_message(self, data: dict[str, Any], broadcast_id: int) -> Reply:
        """The message each recipient gets, in their language."""
        if not self.urgent:
            return Reply(self._render_body(data))
        text = (
            self._render_body(data)
            + "\n\n"
            + _("If you can come, tap “I can come”: the organiser gets your name and phone number.")
        )
        return Reply(text, [[CanCome(broadcast_id).button(_("🙋 I can come"))]])

    async def _send(self, t: Turn, data: dict[str, Any], actor: access.Actor) -> list[Reply]:
        """Queue for every recipient, write the audit entry."""
        province, ward_codes = data["province"], data["wards"]
        if not access.allowed(actor, self.action, province, ward_codes):
            return [refuse(self.action, province, ward_codes)]
        donors = await self._recipients(t, data)
        if not donors:  # a stale Send button: say why nobody would get it
            return [await self._preview(t, data, actor)]
        scope = f"province {province} / wards {','.join(ward_codes) or 'all'}"
        now = self.clock()
        _said, not_before = self._timing(now)
        broadcast = await outbox.create_broadcast(
            t.session, self.name, actor.label, scope, progress_chat_id=t.sender.chat_id
        )
        assert broadcast.id is not None
        broadcast_id = broadcast.id
        await fanout.queue_broadcast(
            t.session,
            broadcast,
            recipient_message(self.name, data, broadcast_id),
            _audience(self.urgent, data, donors),
            not_before,
        )
        detail: dict[str, Any] = {"broadcast_id": broadcast_id, "recipients": broadcast.total}
        if self.urgent:
            detail["groups"] = _groups(data)
        await access.audit(t.session, actor, self.action, scope, **detail)
        await t.close()
        if not_before > now:
            return [
                Reply(
                    ngettext(
                        "Queued for {n} donor. Because of the quiet hours it will go out at "
                        "{when}; you will see the progress then.",
                        "Queued for {n} donors. Because of the quiet hours it will go out at "
                        "{when}; you will see the progress then.",
                        broadcast.total,
                    ).format(n=broadcast.total, when=self._when(not_before, now))
                )
            ]
        return [
            Reply(
                ngettext(
                    "Queued for {n} donor; progress follows.",
                    "Queued for {n} donors; progress follows.",
                    broadcast.total,
                ).format(n=broadcast.total)
            )
        ]


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


def _groups(data: dict[str, Any]) -> list[str]:
    """The blood groups asked for (an older open flow kept one, as "group")."""
    if data.get("groups"):
        return list(data["groups"])
    return [data["group"]] if data.get("group") else []


def _wards_line(data: dict[str, Any]) -> str:
    """The wards a message goes to, the first few by name."""
    province = data.get("province") or ""
    if data.get("whole_province"):
        label = get_province(province)
        return _("All wards of {province}").format(province=label.name if label else province)
    codes: list[str] = data.get("wards", [])
    names = []
    for code in codes[:SHOWN_WARDS]:
        ward = get_ward(province, code)
        names.append(ward.name if ward else code)
    line = ", ".join(names)
    if len(codes) > SHOWN_WARDS:
        rest = len(codes) - SHOWN_WARDS
        line += " " + _("and {n} more").format(n=rest)
    return line


# ------------------------------------------------ the message as queued (worded when sent)

MESSAGE_FIELDS = ("text", "groups", "group", "place", "until")


def recipient_message(name: str, data: dict[str, Any], broadcast_id: int) -> Message:
    """What each recipient gets, as a declared kind (worded when sent, in their language)."""
    fields = {k: data[k] for k in MESSAGE_FIELDS if k in data}
    return Message(f"outreach.{name}", {"data": fields, "broadcast_id": broadcast_id})


def _audience(urgent: bool, data: dict[str, Any], donors: list[Donor]) -> Audience:
    """Followers of the wards; for urgent calls the people the rules let give now (a choice
    made in code, so the recipients are named)."""
    if urgent:
        return Audience(DONORS, {"ids": [d.id for d in donors]})
    return Audience(FOLLOWERS, {"province": data["province"], "wards": data.get("wards") or None})


@cache
def _wording(name: str) -> BroadcastFlow:
    """A flow of that name, for its wording only (no clock, rules or roles are used)."""
    return BroadcastFlow(name, ZoneInfo("UTC"), (time(), time()), lambda _d, _t: True)


@message_kind(f"outreach.{BROADCAST}")
def notice_message(params: dict[str, Any]) -> Reply:
    """A leader's notice."""
    return _wording(BROADCAST)._recipient_message(params["data"], int(params["broadcast_id"]))


@message_kind(f"outreach.{URGENT}")
def urgent_message(params: dict[str, Any]) -> Reply:
    """An urgent call, with its "I can come" button."""
    return _wording(URGENT)._recipient_message(params["data"], int(params["broadcast_id"]))
