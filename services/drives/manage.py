"""/mydrives: a leader changes or cancels a drive; everyone signed up is told."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import Donor, Drive
from models.conversation import FlowName
from models.drives import DriveStatus, SignupStatus
from models.types import utcnow
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.steps import Accept, Draft, Move, Read, Step, StepFlow, done, retry
from services.core.i18n import _, ngettext
from services.core.validation import InputError
from services.drives import drive_store
from services.drives.buttons import ManageDrive, SignupList
from services.drives.fields import drive_day, drive_hours, positive_count, short_text
from services.drives.views import (
    change_notice,
    changed_fields,
    drive_snapshot,
    drive_text,
    seat_freed_notice,
)
from services.outreach import notify
from services.roles import access
from services.roles.refusals import refuse

FIELDS = ("day", "hours", "venue", "address", "collector", "target", "capacity")
OVERVIEW_LIMIT = 20  # drives listed by /mydrives


class EditDraft(Draft):
    """The drive whose field is being changed (the open step is the field)."""

    drive: int = 0


class ManageDriveFlow(StepFlow[EditDraft]):
    """Pick a drive, pick a field, type the new value; or cancel the drive.

    The buttons work outside the flow (services/chat.py routes ManageDrive here); the flow is one
    step per field, each a free text (a venue may hold a question mark), saved at once."""

    name = FlowName.EDIT_DRIVE
    draft = EditDraft

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        super().__init__(
            *(
                Step(field, self._ask_field, text=_read_value, save=self._save, free_text=True)
                for field in FIELDS
            )
        )

    async def overview(self, t: Turn) -> list[Reply]:
        """The upcoming drives the person may change."""
        actor = await t.actor()
        if not actor.is_privileged:
            return [refuse(access.Action.EDIT_DRIVE)]
        provinces = access.provinces_in_scope(actor)
        replies = []
        for summary in await drive_store.upcoming_summaries(t.session, provinces, OVERVIEW_LIMIT):
            drive, wards = summary.drive, summary.ward_codes
            if not access.allowed(actor, access.Action.EDIT_DRIVE, drive.province_code, wards):
                continue
            text = (
                drive_text(drive, wards, self.tz, None)
                + "\n"
                + _("👥 Signed up: {confirmed}/{capacity}, waiting: {waiting}").format(
                    confirmed=summary.confirmed, capacity=drive.capacity, waiting=summary.waiting
                )
            )
            buttons = [
                [
                    ManageDrive("edit", drive.id or 0).button(_("✏️ Change")),
                    ManageDrive("cancel", drive.id or 0).button(_("❌ Cancel the drive")),
                ],
                [SignupList(drive.id or 0).button(_("📋 Who signed up"))],
            ]
            replies.append(Reply(text, buttons))
        if not replies:
            return [Reply(_("You have no upcoming drive to manage. /newdrive creates one."))]
        return replies

    async def choice(self, t: Turn, button: ManageDrive) -> list[Reply]:
        """The buttons of /mydrives (they work without an open flow)."""
        action, drive_id = button.action, button.drive_id
        if action == "keep":
            return [Reply(_("The drive stays as it is."))]
        drive, wards, actor = await self._allowed_drive(t, drive_id)
        if drive is None:
            return (
                [refuse(access.Action.EDIT_DRIVE)]
                if actor is not None
                else [
                    Reply(
                        _("This drive does not exist (any more). /drives lists the upcoming ones.")
                    )
                ]
            )
        if action == "edit":
            labels = {
                "day": _("Day"),
                "hours": _("Hours"),
                "venue": _("Venue"),
                "address": _("Address"),
                "collector": _("Collector"),
                "target": _("Target"),
                "capacity": _("Seats"),
            }
            rows = [[ManageDrive("field", drive_id, f).button(labels[f])] for f in FIELDS]
            return [Reply(_("What do you want to change?"), rows)]
        if action == "field" and button.field in FIELDS:
            return await self.start(t, button.field, EditDraft(drive=drive_id), history=[])
        if action == "cancel":
            buttons = [
                [
                    ManageDrive("cancelyes", drive_id).button(
                        _("❌ Yes, cancel it and tell everyone")
                    )
                ],
                [ManageDrive("keep").button(_("No, keep it"))],
            ]
            return [Reply(_("Cancel this drive? Everyone signed up will be told."), buttons)]
        if action == "cancelyes":
            return await self._cancel_drive(t, drive, wards, actor)
        return [Reply(_("Please use the buttons above."))]

    async def _allowed_drive(
        self, t: Turn, drive_id: int
    ) -> tuple[Drive | None, list[str], access.Actor | None]:
        """The drive, if it exists, is upcoming, and is within the person's scope."""
        drive = await drive_store.lock_drive(t.session, drive_id)
        if drive is None or drive.status != DriveStatus.PUBLISHED:
            return None, [], None
        actor = await t.actor()
        wards = await drive_store.drive_wards(t.session, drive_id)
        if not access.allowed(actor, access.Action.EDIT_DRIVE, drive.province_code, wards):
            return None, wards, actor
        return drive, wards, actor

    def _question(self, field: str) -> Reply:
        """The question for a field."""
        questions = {
            "day": _("New day? (e.g. 14/12/2026)"),
            "hours": _("New hours? (e.g. 7:30-11:30)"),
            "venue": _("New venue name?"),
            "address": _("New address?"),
            "collector": _("Which hospital or blood centre collects the blood?"),
            "target": _("New target, in units of blood?"),
            "capacity": _("How many seats?"),
        }
        return Reply(questions[field])

    def _ask_field(self, t: Turn, draft: EditDraft) -> list[Reply]:
        """The open field's question."""
        assert t.state is not None
        return [self._question(t.state.step)]

    def resumed_history(self, t: Turn, draft: EditDraft, step: str) -> list[str]:
        """A change is one question: nothing before it."""
        return []

    async def before_first(self, t: Turn, draft: EditDraft) -> list[Reply]:
        """/back leaves the change."""
        await t.close()
        return [Reply(_("Nothing changed."))]

    async def _save(self, t: Turn, draft: EditDraft, text: str) -> Move:
        """Check the new value, save it, tell everyone signed up."""
        assert t.state is not None
        field = t.state.step
        drive, wards, actor = await self._allowed_drive(t, draft.drive)
        if drive is None or actor is None:
            await t.close()
            return done(refuse(access.Action.EDIT_DRIVE))
        try:
            changes = self._parse(field, text, drive, t.today)
            if field == "capacity":
                confirmed = await drive_store.count_signups(
                    t.session, drive.id or 0, SignupStatus.CONFIRMED
                )
                if changes["capacity"] < confirmed:
                    raise InputError(
                        ngettext(
                            "{n} person already has a seat: the capacity cannot be lower.",
                            "{n} people already have a seat: the capacity cannot be lower.",
                            confirmed,
                        ).format(n=confirmed)
                    )
        except InputError as error:
            return retry(str(error))
        before = drive_snapshot(drive)
        if "starts_at" in changes and changes["starts_at"] != drive.starts_at:
            # The reminder sweep queues new ones for the new time within a minute.
            signups = await drive_store.signup_ids_of(t.session, drive.id or 0)
            await drive_store.cancel_drive_reminders(t.session, signups, "drive moved")
        for name, value in changes.items():
            setattr(drive, name, value)
        drive.updated_at = utcnow()
        promoted = (
            await drive_store.promote_waiting(t.session, drive) if field == "capacity" else []
        )
        await access.audit(
            t.session,
            actor,
            access.Action.EDIT_DRIVE,
            access.scope_label(drive.province_code, wards),
            drive_id=drive.id,
            field=field,
        )
        told = (
            await self._tell_changes(t, drive, wards, before)
            if changed_fields(before, drive)
            else 0
        )
        for signup in promoted:
            await notify.notify_donors(
                t.session,
                [signup.donor_id],
                lambda _donor: seat_freed_notice(drive, wards, self.tz),
                kind="seat_freed",
                author="system",
                drive_id=drive.id,
            )
        await t.close()
        saved = ngettext(
            "Saved. {n} person signed up was told.", "Saved. {n} people signed up were told.", told
        ).format(n=told)
        return done(Reply(saved))

    def _parse(self, field: str, text: str, drive: Drive, today: date) -> dict[str, Any]:
        """The new value(s) for a field."""
        local_start, local_end = (
            drive.starts_at.astimezone(self.tz),
            drive.ends_at.astimezone(self.tz),
        )
        if field == "day":
            day = drive_day(text, today)
            starts = datetime.combine(day, local_start.time(), self.tz)
            if starts <= utcnow():
                raise InputError(
                    _("That start time has already passed. Please give a later time or day.")
                )
            return {
                "starts_at": starts,
                "ends_at": datetime.combine(day, local_end.time(), self.tz),
            }
        if field == "hours":
            starts, ends = drive_hours(text, local_start.date(), self.tz, utcnow())
            return {"starts_at": starts, "ends_at": ends}
        if field in ("venue", "collector"):
            return {"venue_name" if field == "venue" else "collector": short_text(text, 200)}
        if field == "address":
            return {"address": short_text(text, 300)}
        return {"target_units" if field == "target" else "capacity": positive_count(text)}

    async def _cancel_drive(
        self, t: Turn, drive: Drive, wards: list[str], actor: access.Actor | None
    ) -> list[Reply]:
        """Cancel, audit, tell everyone signed up."""
        assert actor is not None
        drive.status, drive.updated_at = DriveStatus.CANCELLED, utcnow()
        signups = await drive_store.signup_ids_of(t.session, drive.id or 0)
        await drive_store.cancel_drive_reminders(t.session, signups, "drive cancelled")
        await access.audit(
            t.session,
            actor,
            access.Action.CANCEL_DRIVE,
            access.scope_label(drive.province_code, wards),
            drive_id=drive.id,
        )
        told = await self._tell_signups(t, drive, wards, _cancelled_intro)
        return [
            Reply(
                ngettext(
                    "The drive is cancelled. {n} person signed up was told.",
                    "The drive is cancelled. {n} people signed up were told.",
                    told,
                ).format(n=told)
            )
        ]

    async def _tell_signups(self, t: Turn, drive: Drive, wards: list[str], intro: Any) -> int:
        """Queue the news to everyone with a seat or on the waiting list."""
        donors = await drive_store.signed_up_donors(t.session, drive.id or 0)
        if not donors:
            return 0

        def message(_donor: object) -> Reply:
            """The news, in each person's language."""
            return Reply(intro() + "\n\n" + drive_text(drive, wards, self.tz, None))

        broadcast = await notify.queue(
            t.session, donors, message, kind="drive_change", author="system", drive_id=drive.id
        )
        return broadcast.total

    async def _tell_changes(
        self, t: Turn, drive: Drive, wards: list[str], before: dict[str, Any]
    ) -> int:
        """Queue what changed (old → new) to everyone signed up; seat holders get the new
        calendar file when the time or place moved."""
        signed = await drive_store.signed_up_with_status(t.session, drive.id or 0)
        if not signed:
            return 0
        status = {donor.id: state for donor, state in signed}

        def message(donor: Donor) -> Reply:
            """The news, in each person's language."""
            return change_notice(before, drive, wards, self.tz, status.get(donor.id, ""))

        broadcast = await notify.queue(
            t.session,
            [donor for donor, _state in signed],
            message,
            kind="drive_change",
            author="system",
            drive_id=drive.id,
        )
        return broadcast.total

    async def on_cancel(self, t: Turn) -> str:
        """Leave the change."""
        await t.close()
        return _("Nothing changed.")


def _read_value(t: Turn, draft: EditDraft, text: str) -> Read:
    """Any typed value goes to the save, which checks it against the drive."""
    return Accept(text)


def _cancelled_intro() -> str:
    """Heading of a cancellation notice."""
    return _(
        "❌ A drive you signed up for is cancelled. We are sorry; we will tell you about the next one."
    )
