"""/newdrive: a leader describes a drive step by step, sees a preview, and publishes it.

The draft lives in the conversation state (no personal data in it), so a restart loses nothing.
Publishing announces the drive to every active follower of its wards through the outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import Field

from models import Drive, DriveBase
from models.conversation import FlowName
from models.drives import Campaign, DriveStatus
from models.types import utcnow
from services.conversation.dialog import Button, Keyboard, Reply
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
    in_a_thread,
    keep,
    retry,
    stay,
    use_the_buttons,
)
from services.core.i18n import _, ngettext
from services.drives import drive_store
from services.drives.announcement import announcement_message
from services.drives.buttons import DraftAction, DraftDrive
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


class NewDriveDraft(Draft):
    """The drive being described (no personal data in it); the keys of the JSON rows of old."""

    campaign: str | None = None
    day: str | None = None  # ISO date
    starts_at: str | None = None  # ISO date-times, UTC
    ends_at: str | None = None
    venue: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    wards: list[str] = Field(default_factory=list)
    province: str | None = None
    collector: str | None = None
    target: int | None = None
    capacity: int | None = None


def _typed(parse: Callable[[str], Any]) -> Callable[[Turn, NewDriveDraft, str], Read]:
    """A reader that checks the text with `parse` (an InputError says what is wrong)."""

    def read(t: Turn, draft: NewDriveDraft, text: str) -> Read:
        try:
            return Accept(parse(text))
        except InputError as error:
            return retry(str(error))

    return read


class NewDriveFlow(StepFlow[NewDriveDraft]):
    """Campaign, day, hours, venue, address, map pin, wards, collector, target, capacity.

    Every step is a leader's free text (a venue may hold a question mark). The roles are loaded
    when the turn reaches the flow, since the wards question depends on them."""

    name = FlowName.NEW_DRIVE
    draft = NewDriveDraft

    def __init__(
        self,
        tz: ZoneInfo,
        quiet_hours: tuple[time, time],
        deep_link: Callable[[str], str],
    ) -> None:
        self.tz = tz
        self.quiet_hours = quiet_hours
        self.deep_link = deep_link
        taps = (DraftDrive,)
        super().__init__(
            Step(
                "campaign",
                _ask_campaign,
                taps=taps,
                tap=_read_campaign,
                save=_save_campaign,
                free_text=True,
                use_buttons=use_the_buttons,
            ),
            Step(
                "campaign_name",
                _ask_campaign_name,
                text=_typed(lambda x: short_text(x, 80)),
                save=keep("campaign"),
                free_text=True,
            ),
            Step("day", _ask_day, text=self._read_day, save=_save_day, free_text=True),
            Step("hours", _ask_hours, text=self._read_hours, save=_save_hours, free_text=True),
            Step(
                "venue",
                _ask_venue,
                text=_typed(lambda x: short_text(x, 200)),
                save=keep("venue"),
                free_text=True,
            ),
            Step(
                "address",
                _ask_address,
                text=_typed(lambda x: short_text(x, 300)),
                save=keep("address"),
                free_text=True,
            ),
            Step(
                "location",
                _ask_location,
                taps=taps,
                tap=_read_skip,
                location=_read_pin,
                save=_save_pin,
                free_text=True,
                use_buttons=use_the_buttons,
            ),
            Step(
                "wards",
                self._ask_wards,
                text=in_a_thread(self._search_wards),
                taps=taps,
                tap=_read_ward,
                save=self._save_ward,
                free_text=True,
            ),
            Step(
                "collector",
                _ask_collector,
                text=_typed(lambda x: short_text(x, 200)),
                save=keep("collector"),
                free_text=True,
            ),
            Step(
                "target",
                _ask_target,
                text=_typed(positive_count),
                save=keep("target"),
                free_text=True,
            ),
            Step(
                "capacity",
                _ask_capacity,
                text=_typed(positive_count),
                save=keep("capacity"),
                free_text=True,
            ),
            Step(
                "preview",
                self._ask_preview,
                taps=taps,
                tap=_read_preview,
                save=self._finish,
                free_text=True,
                use_buttons=use_the_buttons,
            ),
        )

    def path(self, t: Turn, draft: NewDriveDraft) -> list[str]:
        """The campaign's own name is asked only when "another name" was chosen."""
        steps = super().path(t, draft)
        if draft.campaign in tuple(Campaign):
            steps.remove("campaign_name")
        return steps

    async def begin(self, t: Turn) -> list[Reply]:
        """Start a new draft, if the person may create drives somewhere."""
        actor = await t.actor()
        if not (actor.is_admin or actor.is_staff or actor.is_leader):
            return [refuse(access.Action.CREATE_DRIVE)]
        intro = Reply(_("New drive. Send /back to go back one step, /cancel to drop the draft."))
        return [intro, *await self.start(t, "campaign", NewDriveDraft(), history=[])]

    # The wards question reads the roles: load them before any step is asked or answered.

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open step again."""
        await t.actor()
        return await super().prompt(t)

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer."""
        await t.actor()
        return await super().on_text(t, text)

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """A tapped button."""
        await t.actor()
        return await super().on_choice(t, data)

    async def on_location(self, t: Turn, lat: float, lon: float) -> list[Reply] | None:
        """The venue's map pin."""
        await t.actor()
        return await super().on_location(t, lat, lon)

    async def on_back(self, t: Turn) -> list[Reply]:
        """One step back."""
        await t.actor()
        return await super().on_back(t)

    async def on_cancel(self, t: Turn) -> str:
        """Drop the draft."""
        await t.close()
        return _("The draft is dropped. Nothing was published.")

    # ------------------------------------------------------------ the day and hours

    def _read_day(self, t: Turn, draft: NewDriveDraft, text: str) -> Read:
        try:
            return Accept(drive_day(text, t.today))
        except InputError as error:
            return retry(str(error))

    def _read_hours(self, t: Turn, draft: NewDriveDraft, text: str) -> Read:
        assert draft.day is not None
        try:
            return Accept(drive_hours(text, date.fromisoformat(draft.day), self.tz, utcnow()))
        except InputError as error:
            return retry(str(error))

    # ------------------------------------------------------------ wards

    def _ask_wards(self, t: Turn, draft: NewDriveDraft) -> list[Reply]:
        """Leaders tick their wards; staff and admins type ward names to add them."""
        actor = t.loaded_actor
        chosen, province = draft.wards, draft.province
        rows: list[list[Button]] = []
        for scope in actor.leader_scopes:
            if province and scope.province_code != province:
                continue
            for code in sorted(scope.ward_codes):
                ward = get_ward(scope.province_code, code)
                mark = "✅ " if code in chosen else "▫️ "
                tick = DraftDrive(DraftAction.WARD, scope.province_code, code)
                rows.append([tick.button(mark + (ward.name if ward else code))])
        if chosen:
            rows.append([DraftDrive(DraftAction.WARDS_DONE).button(_("Done ✔"))])
        if actor.is_admin or actor.is_staff:
            text = _("Which wards does the drive serve? Type a ward name to add it.")
        else:
            text = _("Which of your wards does the drive serve? Tap to tick, then Done.")
        if chosen and province:
            text += "\n" + _("Chosen: {wards}").format(wards=wards_label(province, chosen))
        return [Reply(text, rows)]

    def _search_wards(self, t: Turn, draft: NewDriveDraft, text: str) -> Read:
        """Staff and admins type a ward; candidates in their province come back as buttons."""
        actor = t.loaded_actor
        province = draft.province or next(iter(sorted(actor.staff_provinces)), None)
        found = search_wards(text, province_code=province, limit=6)
        if not found:
            return retry(
                _("No ward found for “{text}”. Try another spelling.").format(text=text[:40])
            )
        rows = [
            [DraftDrive(DraftAction.WARD, w.province_code, w.code).button(w.label)] for w in found
        ]
        return stay(Reply(_("Tap the ward to add it:"), rows))

    async def _save_ward(self, t: Turn, draft: NewDriveDraft, tapped: DraftDrive) -> Move:
        """Tick or untick a ward (within the person's scope and one province), or go on."""
        if tapped.action is DraftAction.WARDS_DONE:
            return go()
        province, code = tapped.first, tapped.second
        if get_ward(province, code) is None:
            return Move()
        if draft.province not in (None, province):
            return Move(say=[Reply(_("A drive serves wards of one province only."))])
        actor = await t.actor()
        if not access.allowed(actor, access.Action.CREATE_DRIVE, province, [code]):
            return Move(say=[refuse(access.Action.CREATE_DRIVE, province, [code])])
        if code in draft.wards:
            draft.wards = [ward for ward in draft.wards if ward != code]
        else:
            draft.wards = [*draft.wards, code]
        draft.province = province if draft.wards else None
        return Move()

    # ------------------------------------------------------------ preview and publishing

    def _ask_preview(self, t: Turn, draft: NewDriveDraft) -> list[Reply]:
        """The drive as citizens will see it, with publish and cancel."""
        drive = self._drive(draft)
        text = _("Preview:") + "\n\n" + drive_text(drive, draft.wards, self.tz, drive.capacity)
        buttons = [
            [DraftDrive(DraftAction.PUBLISH).button(_("📣 Publish and announce"))],
            [DraftDrive(DraftAction.DROP).button(_("Drop the draft"))],
        ]
        return [Reply(text, buttons)]

    def _drive(self, draft: NewDriveDraft) -> Drive:
        """The drive the answers describe (not saved)."""
        assert draft.starts_at and draft.ends_at and draft.province
        fields = DriveBase(
            campaign=draft.campaign or "",
            starts_at=datetime.fromisoformat(draft.starts_at),
            ends_at=datetime.fromisoformat(draft.ends_at),
            venue_name=draft.venue or "",
            address=draft.address or "",
            latitude=draft.lat,
            longitude=draft.lon,
            province_code=draft.province,
            collector=draft.collector or "",
            target_units=draft.target or 0,
            capacity=draft.capacity or 0,
        )
        return Drive.model_validate(fields, update={"created_by": "", "status": DriveStatus.DRAFT})

    async def _finish(self, t: Turn, draft: NewDriveDraft, action: DraftAction) -> Move:
        """Publish, or drop the draft."""
        if action is DraftAction.DROP:
            await t.close()
            return done(Reply(_("The draft is dropped. Nothing was published.")))
        return await self._publish(t, draft, await t.actor())

    async def _publish(self, t: Turn, draft: NewDriveDraft, actor: access.Actor) -> Move:
        """Save the drive, write the audit entry, and queue the announcement to followers."""
        province, wards = draft.province or "", draft.wards
        if not access.allowed(actor, access.Action.CREATE_DRIVE, province, wards):
            return done(refuse(access.Action.CREATE_DRIVE, province, wards))
        if draft.starts_at is None or datetime.fromisoformat(draft.starts_at) <= utcnow():
            passed = _("That start time has already passed. Please give a later time or day.")
            return go("day", Reply(passed))
        drive = await drive_store.create_drive(
            t.session, DriveBase.model_validate(self._drive(draft)), wards, actor.label
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
        return done(Reply(text, keyboard=Keyboard.REMOVE))


# ------------------------------------------------------------ the questions


def _ask_campaign(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("Which campaign is this drive part of?"), campaign_buttons())]


def _ask_campaign_name(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("Type the name of the campaign or event."))]


def _ask_day(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("On what day? (e.g. 14/12/2026)"))]


def _ask_hours(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("From what time to what time? (e.g. 7:30-11:30)"))]


def _ask_venue(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("Name of the venue? (e.g. Nhà văn hoá phường Hà Đông)"))]


def _ask_address(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("Its address?"))]


def _ask_location(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [
        Reply(
            _("Share the venue's location for a map pin, or skip."),
            [[DraftDrive(DraftAction.SKIP).button(_("Skip"))]],
        ),
        Reply(
            _("(Use the button below to share the location.)"),
            keyboard=Keyboard.LOCATION,
            keyboard_label=_("📍 Share the venue's location"),
        ),
    ]


def _ask_collector(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [
        Reply(_("Which hospital or blood centre collects the blood?"), keyboard=Keyboard.REMOVE)
    ]


def _ask_target(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("Target, in units of blood (e.g. 150)?"))]


def _ask_capacity(t: Turn, draft: NewDriveDraft) -> list[Reply]:
    return [Reply(_("How many donors can sign up (seats)?"))]


# ------------------------------------------------------------ taps, the pin, and saving


def _read_campaign(t: Turn, draft: NewDriveDraft, tapped: DraftDrive) -> Read | None:
    """A national campaign, or "another name" (asked next)."""
    if tapped.action is not DraftAction.CAMPAIGN:
        return None
    if tapped.first == "other":
        return go("campaign_name")
    return Accept(tapped.first) if tapped.first in tuple(Campaign) else None


async def _save_campaign(t: Turn, draft: NewDriveDraft, campaign: str) -> Move:
    draft.campaign = campaign
    return go()  # the path skips the campaign's own name


async def _save_day(t: Turn, draft: NewDriveDraft, day: date) -> Move:
    """Keep the day; "12/12" or "thứ 7 tuần sau" was read as a date: show which, with its
    weekday."""
    draft.day = day.isoformat()
    return go("hours", Reply(_("🗓 {when}").format(when=day_label(day))))


async def _save_hours(t: Turn, draft: NewDriveDraft, hours: tuple[datetime, datetime]) -> Move:
    draft.starts_at, draft.ends_at = hours[0].isoformat(), hours[1].isoformat()
    return go()


def _read_skip(t: Turn, draft: NewDriveDraft, tapped: DraftDrive) -> Read | None:
    """No map pin."""
    return Accept(None) if tapped.action is DraftAction.SKIP else None


def _read_pin(t: Turn, draft: NewDriveDraft, lat: float, lon: float) -> Read:
    """The venue's map pin, if it is in Vietnam."""
    if not nearest_wards(lat, lon, limit=1):
        return retry(_("That location does not seem to be in Vietnam."))
    return Accept((lat, lon))


async def _save_pin(t: Turn, draft: NewDriveDraft, pin: tuple[float, float] | None) -> Move:
    draft.lat, draft.lon = pin if pin is not None else (None, None)
    return go()


def _read_ward(t: Turn, draft: NewDriveDraft, tapped: DraftDrive) -> Read | None:
    """A ward ticked or unticked, or Done (once a ward is chosen)."""
    if tapped.action is DraftAction.WARD and tapped.first and tapped.second:
        return Accept(tapped)
    if tapped.action is DraftAction.WARDS_DONE and draft.wards:
        return Accept(tapped)
    return None


def _read_preview(t: Turn, draft: NewDriveDraft, tapped: DraftDrive) -> Read | None:
    """Publish or drop."""
    if tapped.action in (DraftAction.PUBLISH, DraftAction.DROP):
        return Accept(tapped.action)
    return None
