"""/broadcast and /urgent: a leader writes to the donors of their wards, sees the number of
recipients, confirms; the outbox delivers (urgent calls ignore quiet hours)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from models import Donor
from models.types import utcnow
from services import drives as repo
from services import notify, outbox, roles
from services.dialog import Button, Reply
from services.drive_input import InputError, message_text
from services.drive_views import wards_label
from services.flows.base import Flow, Turn
from services.i18n import _, ngettext
from services.labels import BLOOD_GROUPS
from services.wards import get_province, get_ward

BROADCAST = "broadcast"
URGENT = "urgent"


class BroadcastFlow(Flow):
    """Wards → (blood group, for urgent calls) → text → preview with the count → send."""

    prefixes = ("bc",)

    def __init__(
        self,
        name: str,
        tz: ZoneInfo,
        admin_ids: frozenset[str],
        quiet_hours: tuple[time, time],
        may_give_now: Callable[[Donor, date], bool],
    ) -> None:
        self.name = name
        self.urgent = name == URGENT
        self.tz = tz
        self.admin_ids = admin_ids
        self.quiet_hours = quiet_hours
        self.may_give_now = may_give_now
        self.action = roles.Action.URGENT if self.urgent else roles.Action.BROADCAST

    async def actor(self, t: Turn) -> roles.Actor:
        """The person's roles."""
        return await roles.load_actor(
            t.session, t.sender.channel, t.sender.external_id, self.admin_ids
        )

    async def begin(self, t: Turn) -> list[Reply]:
        """Start, if the person leads a club or is staff/admin."""
        actor = await self.actor(t)
        if not actor.is_privileged:
            return [Reply(roles_refusal_text())]
        await t.goto(self.name, "wards", {"wards": []})
        return [self._wards_question({"wards": []}, actor)]

    def _scopes(self, actor: roles.Actor) -> list[tuple[str, list[str]]]:
        """(province, wards) pairs the person may address; staff: whole provinces."""
        pairs = [(s.province_code, sorted(s.ward_codes)) for s in actor.leader_scopes]
        return pairs

    def _wards_question(self, data: dict[str, Any], actor: roles.Actor) -> Reply:
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
            text += "\n" + _("Chosen: {wards}").format(wards=wards_label(data["province"], chosen))
        return Reply(text, rows)

    def ask(self, step: str, data: dict[str, Any], actor: roles.Actor) -> list[Reply]:
        """The question for a step."""
        if step == "wards":
            return [self._wards_question(data, actor)]
        if step == "group":
            rows = [
                [Button(g, f"bc:group:{g}") for g in BLOOD_GROUPS[:4]],
                [Button(g, f"bc:group:{g}") for g in BLOOD_GROUPS[4:]],
            ]
            return [Reply(_("Which blood group is needed?"), rows)]
        if step == "text":
            if self.urgent:
                return [
                    Reply(
                        _(
                            "What is needed, where and until when? (e.g. 5 units of O- at Bệnh viện Việt Đức before 18:00)"
                        )
                    )
                ]
            return [Reply(_("Type the notice to send."))]
        return []

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again (the preview is rebuilt)."""
        assert t.state is not None
        if t.state.step == "preview":
            return [await self._preview(t, t.data)]
        return self.ask(t.state.step, t.data, await self.actor(t))

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """The message itself."""
        assert t.state is not None
        actor = await self.actor(t)
        if t.state.step != "text":
            return [Reply(_("Please use the buttons above.")), *await self.prompt(t)]
        try:
            body = message_text(text)
        except InputError as error:
            return [Reply(str(error)), *self.ask("text", t.data, actor)]
        data = {**t.data, "text": body}
        await t.goto(self.name, "preview", data)
        return [await self._preview(t, data)]

    async def on_choice(self, t: Turn, value: str) -> list[Reply] | None:
        """Ward ticks, blood group, send or drop."""
        assert t.state is not None
        step, data = t.state.step, dict(t.data)
        actor = await self.actor(t)
        parts = value.split(":")
        if step == "wards" and parts[1] == "ward" and len(parts) == 4:
            province, code = parts[2], parts[3]
            if not roles.allowed(actor, self.action, province, [code]):
                return [Reply(roles_refusal_text())]
            chosen = list(data.get("wards", []))
            if code in chosen:
                chosen.remove(code)
            else:
                chosen.append(code)
            data.update(wards=chosen, province=province if chosen else None, whole_province=False)
            await t.goto(self.name, "wards", data)
            return [self._wards_question(data, actor)]
        if step == "wards" and parts[1] == "province" and len(parts) == 3:
            if not roles.allowed(actor, self.action, parts[2], []):
                return [Reply(roles_refusal_text())]
            data.update(wards=[], province=parts[2], whole_province=True)
            return await self._after_wards(t, data, actor)
        if (
            step == "wards"
            and parts[1] == "wards_done"
            and (data.get("wards") or data.get("whole_province"))
        ):
            return await self._after_wards(t, data, actor)
        if step == "group" and parts[1] == "group" and parts[2] in BLOOD_GROUPS:
            data["group"] = parts[2]
            await t.goto(self.name, "text", data)
            return self.ask("text", data, actor)
        if step == "preview" and parts[1] == "send":
            return await self._send(t, data, actor)
        if step == "preview" and parts[1] == "drop":
            await t.close()
            return [Reply(_("Nothing was sent."))]
        return None

    async def on_back(self, t: Turn) -> list[Reply]:
        """One step back."""
        assert t.state is not None
        order = (
            ["wards", "group", "text", "preview"] if self.urgent else ["wards", "text", "preview"]
        )
        index = order.index(t.state.step)
        if index == 0:
            return [Reply(_("This is the first question.")), *await self.prompt(t)]
        await t.goto(self.name, order[index - 1], t.data)
        return await self.prompt(t)

    async def on_cancel(self, t: Turn) -> str:
        """Drop the message."""
        await t.close()
        return _("Nothing was sent.")

    async def _after_wards(self, t: Turn, data: dict[str, Any], actor: roles.Actor) -> list[Reply]:
        """On to the blood group (urgent) or the text."""
        step = "group" if self.urgent else "text"
        await t.goto(self.name, step, data)
        return self.ask(step, data, actor)

    async def _recipients(self, t: Turn, data: dict[str, Any]) -> list[Donor]:
        """Followers of the wards; for urgent calls only that group, and only who may give now."""
        province = data["province"]
        wards = data["wards"] or None
        donors = await repo.followers(t.session, province, wards)
        if self.urgent:
            donors = [
                d
                for d in donors
                if d.blood_group == data["group"] and self.may_give_now(d, t.today)
            ]
        return donors

    async def _preview(self, t: Turn, data: dict[str, Any]) -> Reply:
        """What will be sent, and to how many people."""
        count = len(await self._recipients(t, data))
        body = self._render_body(data)
        text = _("Preview:") + "\n\n" + body + "\n\n"
        text += ngettext("It will reach {n} donor.", "It will reach {n} donors.", count).format(
            n=count
        )
        if not self.urgent:
            text += "\n" + _("Outside quiet hours (21:00–07:00) it goes now; otherwise at 07:00.")
        buttons = [[Button(_("📣 Send"), "bc:send")], [Button(_("Drop it"), "bc:drop")]]
        return Reply(text, buttons)

    def _render_body(self, data: dict[str, Any]) -> str:
        """The message as recipients will read it (in the current locale)."""
        if self.urgent:
            return (
                _("🚨 URGENT: blood group {group} needed").format(group=data["group"])
                + "\n"
                + data["text"]
            )
        return _("📢 Notice from your donation club") + "\n" + data["text"]

    async def _send(self, t: Turn, data: dict[str, Any], actor: roles.Actor) -> list[Reply]:
        """Queue for every recipient, write the audit entry."""
        province, wards = data["province"], data["wards"]
        if not roles.allowed(actor, self.action, province, wards):
            return [Reply(roles_refusal_text())]
        donors = await self._recipients(t, data)
        scope = f"province {province} / wards {','.join(wards) or 'all'}"
        now = utcnow()
        not_before = (
            now if self.urgent else outbox.quiet_hours_not_before(now, self.tz, *self.quiet_hours)
        )

        def message(_donor: Donor) -> Reply:
            """The text in each donor's language."""
            return Reply(self._render_body(data))

        broadcast = await notify.queue(
            t.session,
            donors,
            message,
            kind=self.name,
            author=actor.label,
            scope=scope,
            not_before=not_before,
            progress_chat_id=t.sender.chat_id,
        )
        await roles.audit(
            t.session,
            actor,
            self.name,
            scope,
            broadcast_id=broadcast.id,
            recipients=broadcast.total,
        )
        await t.close()
        return [
            Reply(
                ngettext(
                    "Queued for {n} donor; progress follows.",
                    "Queued for {n} donors; progress follows.",
                    broadcast.total,
                ).format(n=broadcast.total)
            )
        ]


def roles_refusal_text() -> str:
    """Polite refusal, saying who can help."""
    return _(
        "Only club leaders, steering-committee staff and administrators can do this, and "
        "only for their own wards or province. If you lead a donation club, ask the "
        "steering committee's staff of your province to grant you the role."
    )
