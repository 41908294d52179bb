"""/newdrive: a leader describes a drive step by step, sees a preview, and publishes it.

The draft lives in the conversation state (no personal data in it), so a restart loses nothing.
Publishing announces the drive to every active follower of its wards through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from models import Drive, DriveBase
from models.conversation import FlowName
from models.drives import Campaign, DriveStatus
from models.types import utcnow
from services.conversation.dialog import Button, Keyboard, Reply
from services.conversation.flow import Flow, Turn
from services.core.i18n import _, ngettext
from services.drives import drive_store
from services.drives.announcement import announcement_message
from services.drives.fields import (
    InputError,
    day_label,
    drive_day,
    drive_hours,
    positive_count,
    short_text,
)
from services.drives.views import (
    campaign_buttons,
    campaign_label,
    drive_text,
    wards_label,
)
from services.knowledge.wards import get_ward, nearest_wards, search_wards
from services.outreach import notify, outbox
from services.outreach.audiences import FOLLOWERS, Audience
from services.roles import access
from services.roles.refusals import refuse

STEPS = (
    "campaign",
    "campaign_name",
    "day",
    "hours",
    "venue",
    "address",
    "location",
    "wards",
    "collector",
    "target",
    "capacity",
    "preview",
)


class NewDriveFlow(Flow):
    """Campaign, day, hours, venue, address, map pin, wards, collector, target, capacity."""

    name = FlowName.NEW_DRIVE
    prefixes = ("nd",)

    def takes_free_text(self, step: str) -> bool:
        """A leader's texts (venue, notice, …) may hold a question mark: they are answers."""
        return True

    def __init__(
        self,
        tz: ZoneInfo,
        quiet_hours: tuple[time, time],
        deep_link: Callable[[str], str],
    ) -> None:
        self.tz = tz
        self.quiet_hours = quiet_hours
        self.deep_link = deep_link

    async def begin(self, t: Turn) -> list[Reply]:
        """Start a new draft, if the person may create drives somewhere."""
        actor = await t.actor()
        if not (actor.is_admin or actor.is_staff or actor.is_leader):
            return [refuse(access.Action.CREATE_DRIVE)]
        await t.goto(FlowName.NEW_DRIVE, "campaign", {})
        intro = Reply(_("New drive. Send /back to go back one step, /cancel to drop the draft."))
        return [intro, *self.ask("campaign", {}, actor)]

    # ------------------------------------------------------------ questions

    def ask(self, step: str, data: dict[str, Any], actor: access.Actor) -> list[Reply]:
        """The question for a step."""
        if step == "campaign":
            return [Reply(_("Which campaign is this drive part of?"), campaign_buttons())]
        if step == "campaign_name":
            return [Reply(_("Type the name of the campaign or event."))]
        if step == "day":
            return [Reply(_("On what day? (e.g. 14/12/2026)"))]
        if step == "hours":
            return [Reply(_("From what time to what time? (e.g. 7:30-11:30)"))]
        if step == "venue":
            return [Reply(_("Name of the venue? (e.g. Nhà văn hoá phường Hà Đông)"))]
        if step == "address":
            return [Reply(_("Its address?"))]
        if step == "location":
            return [
                Reply(
                    _("Share the venue's location for a map pin, or skip."),
                    [[Button(_("Skip"), "nd:skip")]],
                ),
                Reply(
                    _("(Use the button below to share the location.)"),
                    keyboard=Keyboard.LOCATION,
                    keyboard_label=_("📍 Share the venue's location"),
                ),
            ]
        if step == "wards":
            return [self._wards_question(data, actor)]
        if step == "collector":
            return [
                Reply(
                    _("Which hospital or blood centre collects the blood?"),
                    keyboard=Keyboard.REMOVE,
                )
            ]
        if step == "target":
            return [Reply(_("Target, in units of blood (e.g. 150)?"))]
        if step == "capacity":
            return [Reply(_("How many donors can sign up (seats)?"))]
        return [self._preview(data)]

    def _wards_question(self, data: dict[str, Any], actor: access.Actor) -> Reply:
        """Leaders tick their wards; staff and admins type ward names to add them."""
        chosen: list[str] = data.get("wards", [])
        province = data.get("province")
        rows: list[list[Button]] = []
        for scope in actor.leader_scopes:
            if province and scope.province_code != province:
                continue
            for code in sorted(scope.ward_codes):
                ward = get_ward(scope.province_code, code)
                mark = "✅ " if code in chosen else "▫️ "
                rows.append(
                    [
                        Button(
                            mark + (ward.name if ward else code),
                            f"nd:ward:{scope.province_code}:{code}",
                        )
                    ]
                )
        if chosen:
            rows.append([Button(_("Done ✔"), "nd:wards_done")])
        if actor.is_admin or actor.is_staff:
            text = _("Which wards does the drive serve? Type a ward name to add it.")
        else:
            text = _("Which of your wards does the drive serve? Tap to tick, then Done.")
        if chosen and province:
            text += "\n" + _("Chosen: {wards}").format(wards=wards_label(province, chosen))
        return Reply(text, rows)

    def _preview(self, data: dict[str, Any]) -> Reply:
        """The drive as citizens will see it, with publish and cancel."""
        drive = self._draft(data)
        text = _("Preview:") + "\n\n" + drive_text(drive, data["wards"], self.tz, drive.capacity)
        buttons = [
            [Button(_("📣 Publish and announce"), "nd:publish")],
            [Button(_("Drop the draft"), "nd:drop")],
        ]
        return Reply(text, buttons)

    def _draft(self, data: dict[str, Any]) -> Drive:
        """The drive the answers describe (not saved)."""
        fields = DriveBase(
            campaign=data["campaign"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            venue_name=data["venue"],
            address=data["address"],
            latitude=data.get("lat"),
            longitude=data.get("lon"),
            province_code=data["province"],
            collector=data["collector"],
            target_units=data["target"],
            capacity=data["capacity"],
        )
        return Drive.model_validate(fields, update={"created_by": "", "status": DriveStatus.DRAFT})

    # ------------------------------------------------------------ answers

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again."""
        assert t.state is not None
        return self.ask(t.state.step, t.data, await t.actor())

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer for the open step."""
        assert t.state is not None
        step, data = t.state.step, dict(t.data)
        actor = await t.actor()
        try:
            if step == "campaign_name":
                data["campaign"] = short_text(text, 80)
            elif step == "day":
                day = drive_day(text, t.today)
                data["day"] = day.isoformat()
                # "12/12" or "thứ 7 tuần sau" was read as a date: show which, with its weekday.
                noted = Reply(_("🗓 {when}").format(when=day_label(day)))
                return [noted, *await self._next(t, step, data, actor)]
            elif step == "hours":
                starts, ends = drive_hours(text, date.fromisoformat(data["day"]), self.tz, utcnow())
                data["starts_at"], data["ends_at"] = starts.isoformat(), ends.isoformat()
            elif step == "venue":
                data["venue"] = short_text(text, 200)
            elif step == "address":
                data["address"] = short_text(text, 300)
            elif step == "wards":
                return await self._ward_search(t, text, data, actor)
            elif step == "collector":
                data["collector"] = short_text(text, 200)
            elif step == "target":
                data["target"] = positive_count(text)
            elif step == "capacity":
                data["capacity"] = positive_count(text)
            else:
                return [Reply(_("Please use the buttons above.")), *self.ask(step, data, actor)]
        except InputError as error:
            return [Reply(str(error)), *self.ask(step, data, actor)]
        return await self._next(t, step, data, actor)

    async def on_location(self, t: Turn, lat: float, lon: float) -> list[Reply] | None:
        """The venue's map pin."""
        assert t.state is not None
        if t.state.step != "location":
            return None
        actor = await t.actor()
        if not nearest_wards(lat, lon, limit=1):
            return [
                Reply(_("That location does not seem to be in Vietnam.")),
                *self.ask("location", t.data, actor),
            ]
        data = {**t.data, "lat": lat, "lon": lon}
        return await self._next(t, "location", data, actor)

    async def on_choice(self, t: Turn, data_value: str) -> list[Reply] | None:
        """Campaign buttons, skipping the pin, ticking wards, publish or drop."""
        assert t.state is not None
        step, data = t.state.step, dict(t.data)
        actor = await t.actor()
        parts = data_value.split(":") + ["", ""]  # forged or truncated data must not crash
        if step == "campaign" and parts[1] == "campaign":
            if parts[2] == "other":
                await t.goto(FlowName.NEW_DRIVE, "campaign_name", data)
                return self.ask("campaign_name", data, actor)
            if parts[2] not in tuple(Campaign):
                return None
            data["campaign"] = parts[2]
            return await self._next(t, "campaign_name", data, actor)
        if step == "location" and parts[1] == "skip":
            data["lat"] = data["lon"] = None
            return await self._next(t, "location", data, actor)
        if step == "wards" and parts[1] == "ward" and len(parts) == 6:
            return await self._toggle_ward(t, parts[2], parts[3], data, actor)
        if step == "wards" and parts[1] == "wards_done" and data.get("wards"):
            return await self._next(t, "wards", data, actor)
        if step == "preview" and parts[1] == "publish":
            return await self._publish(t, data, actor)
        if step == "preview" and parts[1] == "drop":
            await t.close()
            return [Reply(_("The draft is dropped. Nothing was published."))]
        return None

    async def on_back(self, t: Turn) -> list[Reply]:
        """One step back (the campaign name only when "another name" was chosen)."""
        assert t.state is not None
        index = STEPS.index(t.state.step)
        if index == 0:
            return [Reply(_("This is the first question.")), *await self.prompt(t)]
        previous = STEPS[index - 1]
        if previous == "campaign_name" and t.data.get("campaign") in tuple(Campaign):
            previous = "campaign"
        await t.goto(FlowName.NEW_DRIVE, previous, t.data)
        return self.ask(previous, t.data, await t.actor())

    async def on_cancel(self, t: Turn) -> str:
        """Drop the draft."""
        await t.close()
        return _("The draft is dropped. Nothing was published.")

    # ------------------------------------------------------------ helpers

    async def _next(
        self, t: Turn, step: str, data: dict[str, Any], actor: access.Actor
    ) -> list[Reply]:
        """Save the answer and ask the following question."""
        following = STEPS[STEPS.index(step) + 1]
        await t.goto(FlowName.NEW_DRIVE, following, data)
        return self.ask(following, data, actor)

    async def _ward_search(
        self, t: Turn, text: str, data: dict[str, Any], actor: access.Actor
    ) -> list[Reply]:
        """Staff and admins type a ward; candidates in their province come back as buttons."""
        province = data.get("province") or next(iter(sorted(actor.staff_provinces)), None)
        found = search_wards(text, province_code=province, limit=6)
        if not found:
            return [
                Reply(
                    _("No ward found for “{text}”. Try another spelling.").format(text=text[:40])
                ),
                self.ask("wards", data, actor)[0],
            ]
        rows = [[Button(w.label, f"nd:ward:{w.province_code}:{w.code}")] for w in found]
        return [Reply(_("Tap the ward to add it:"), rows)]

    async def _toggle_ward(
        self, t: Turn, province: str, code: str, data: dict[str, Any], actor: access.Actor
    ) -> list[Reply]:
        """Tick or untick a ward, within the person's scope and one province."""
        if get_ward(province, code) is None:
            return self.ask("wards", data, actor)
        if data.get("province") not in (None, province):
            return [
                Reply(_("A drive serves wards of one province only.")),
                self.ask("wards", data, actor)[0],
            ]
        if not access.allowed(actor, access.Action.CREATE_DRIVE, province, [code]):
            return [
                refuse(access.Action.CREATE_DRIVE, province, [code]),
                self.ask("wards", data, actor)[0],
            ]
        chosen = list(data.get("wards", []))
        if code in chosen:
            chosen.remove(code)
        else:
            chosen.append(code)
        data["wards"] = chosen
        data["province"] = province if chosen else None
        await t.goto(FlowName.NEW_DRIVE, "wards", data)
        return [self._wards_question(data, actor)]

    async def _publish(self, t: Turn, data: dict[str, Any], actor: access.Actor) -> list[Reply]:
        """Save the drive, write the audit entry, and queue the announcement to followers."""
        province, wards = data["province"], data["wards"]
        if not access.allowed(actor, access.Action.CREATE_DRIVE, province, wards):
            return [refuse(access.Action.CREATE_DRIVE, province, wards)]
        if datetime.fromisoformat(data["starts_at"]) <= utcnow():
            await t.goto(FlowName.NEW_DRIVE, "day", data)
            return [
                Reply(_("That start time has already passed. Please give a later time or day.")),
                *self.ask("day", data, actor),
            ]
        draft = self._draft(data)
        drive = await drive_store.create_drive(
            t.session, DriveBase.model_validate(draft), wards, actor.label
        )
        drive.status = DriveStatus.PUBLISHED
        assert drive.id is not None
        await access.audit(
            t.session,
            actor,
            access.Action.CREATE_DRIVE,
            f"province {province} / wards {','.join(wards)}",
            drive_id=drive.id,
        )
        start, end = self.quiet_hours
        not_before = outbox.quiet_hours_not_before(utcnow(), self.tz, start, end)
        broadcast = await notify.announce(
            t.session,
            Audience(FOLLOWERS, {"province": province, "wards": wards}),
            announcement_message(drive, wards, self.tz),
            kind="drive_announcement",
            author=actor.label,
            scope=f"province {province} / wards {','.join(wards)}",
            drive_id=drive.id,
            not_before=not_before,
            progress_chat_id=t.sender.chat_id,
        )
        await t.close()
        text = _("✅ Published: {campaign}.").format(campaign=campaign_label(drive.campaign)) + "\n"
        text += ngettext(
            "Announcing it to {n} follower of these wards; progress follows.",
            "Announcing it to {n} followers of these wards; progress follows.",
            broadcast.total,
        ).format(n=broadcast.total)
        link = self.deep_link(f"drive_{drive.id}")
        text += "\n" + _("Share this link: {link}").format(link=link)
        return [Reply(text, keyboard=Keyboard.REMOVE)]
