"""/checkin: a leader at a drive's desk records who donated, who was deferred, who did not come.

Pick a drive of the day, see who signed up as pages of buttons (or search by name or phone),
open a person and record the outcome; a registered walk-in is found by phone, someone not
registered is recorded by name and phone and gets an invitation to forward. A card link opens a
donor's screen directly. Every step answers every desk button, so a tap on an older message of
the desk still works. Names and phones are shown in private chats only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from models import CheckIn, Donor
from models.conversation import FlowName
from models.donations import CheckinOutcome
from models.donor import DonationKind
from models.drives import SignupStatus
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Turn
from services.conversation.steps import Accept, Draft, Move, Read, Step, StepFlow, done, go, retry
from services.core.i18n import _, ngettext
from services.core.labels import blood_group_label, date_label, donation_kind_label, phone_label
from services.core.validation import InputError, ascii_digits, clean_full_name, normalize_vn_phone
from services.donations import card_token, desk, invitation
from services.donations.after_drive import thank_donors
from services.donations.desk import DeskDrive, Entry, WalkIn
from services.donations.history import WHOLE_BLOOD_VOLUMES
from services.drives import drive_store
from services.drives.views import when_label
from services.eligibility.donor_status import next_eligible
from services.eligibility.onsite import PERIODS, REASONS, deferred_until, onsite_label, period_label
from services.eligibility.rules import RuleOptions
from services.roles import access
from services.roles.refusals import refuse

PAGE = 8  # people per page of the list
NAME_IN_BUTTON = 40
# The kinds a desk records (red cells by apheresis are recorded as whole blood bags are).
DESK_KINDS = (DonationKind.WHOLE_BLOOD, DonationKind.PLATELETS, DonationKind.PLASMA)


class DeskAction(StrEnum):
    """What a /checkin button does."""

    DRIVE = "drive"  # number: the drive
    PAGE = "page"  # number: the page of the list
    ALL = "all"  # leave the search
    PERSON = "person"  # number: a registered donor
    WALK_IN = "walkin"  # number: the check-in of someone not registered
    NEW = "new"  # record someone not registered
    LIST = "list"  # back to the list
    KIND = "kind"  # code: what they gave (a DonationKind)
    VOLUME = "volume"  # number: ml of whole blood
    DEFER = "defer"  # deferred on site: ask how long
    PERIOD = "period"  # code: how long (onsite.PERIODS)
    REASON = "reason"  # code: why (onsite.REASONS)
    NO_SHOW = "noshow"
    FINISH = "finish"  # ask to confirm
    FINISHED = "finished"  # thank the donors, note the figures


@dataclasses.dataclass(frozen=True)
class Desk(ButtonData, kind="ci"):
    """A button of /checkin."""

    action: DeskAction
    number: int = 0
    code: str = ""


class DeskDraft(Draft):
    """The drive at the desk, the list's page and search, and the person on screen."""

    drive: int = 0
    page: int = 0
    query: str = ""
    donor: int = 0  # a registered person
    walk_in: int = 0  # the check-in of someone not registered
    name: str = ""  # someone not registered, being recorded
    phone: str = ""
    kind: str = ""
    period: str = ""
    # Registered people not on the list whom the leader may open: found by the phone number
    # typed, or by their card (no one else's details can be opened by a forged button).
    found: list[int] = []


Saving = Callable[[Turn, DeskDraft, Any], Awaitable[Move]]


class CheckinFlow(StepFlow[DeskDraft]):
    """The desk of a drive, on steps."""

    name = FlowName.CHECK_IN
    draft = DeskDraft

    def __init__(
        self,
        tz: ZoneInfo,
        deep_link: Callable[[str], str],
        quiet_hours: tuple[time, time],
        options: RuleOptions | None = None,
        invitation_key: bytes = b"",
    ) -> None:
        self.tz = tz
        self.deep_link = deep_link
        self.invitation_key = invitation_key
        self.quiet_hours = quiet_hours
        self.options = options

        def step(name: str, prompt: Any, text: Any = None) -> Step[DeskDraft]:
            return Step(name, prompt, text=text, taps=(Desk,), tap=_read_tap, save=self._save)

        super().__init__(
            step("drive", self._ask_drive),
            step("list", self._ask_list, _accept),
            step("person", self._ask_person, _accept),
            step("volume", self._ask_volume, _accept),
            step("apheresis", self._ask_apheresis, _accept),
            step("period", self._ask_period),
            step("reason", self._ask_reason),
            step("name", self._ask_name, _accept),
            step("phone", self._ask_phone, _accept),
            step("finish", self._ask_finish),
        )
        self._typed: dict[str, Saving] = {
            "list": self._search,
            "person": self._search,
            "volume": self._typed_volume,
            "apheresis": self._typed_apheresis,
            "name": self._typed_name,
            "phone": self._typed_phone,
        }

    # ------------------------------------------------------------ entry points

    async def begin(self, t: Turn) -> list[Reply]:
        """/checkin: the drives of the day in the person's scope."""
        actor = await t.actor()
        if not actor.is_privileged:
            return [refuse(access.Action.CHECK_IN)]
        if not t.sender.private:
            return [_private_only()]
        drives = await desk.drives_of_the_day(t.session, actor, self.tz)
        if not drives:
            return [Reply(_("You have no drive today (or in the last 24 hours) to check in at."))]
        if len(drives) == 1:
            return await self.start(t, "list", DeskDraft(drive=drives[0].id))
        return await self.start(t, "drive", DeskDraft(), history=[])

    async def open_card(self, t: Turn, token: str, key: bytes) -> list[Reply]:
        """A donor card's link, opened in this person's chat: the donor's screen at a drive of
        the day in their scope; nothing personal for anyone else."""
        actor = await t.actor()
        if not actor.is_privileged or not t.sender.private:
            return [_card_for_the_desk()]
        donor = await card_token.donor_of_card(t.session, key, token)
        if donor is None:
            text = _(
                "This donor card is no longer valid (it was replaced or is not genuine). "
                "The donor can show their current card with /card."
            )
            return [Reply(text)]
        drives = await desk.drives_of_the_day(t.session, actor, self.tz)
        if not drives:
            text = _(
                "This is a donor's card. You have no drive today in your wards or province to "
                "check them in at."
            )
            return [Reply(text)]
        signed = []
        for found in drives:
            signup = await drive_store.get_signup(t.session, found.id, donor.id or 0)
            if signup is not None and signup.status != SignupStatus.CANCELLED:
                signed.append(found)
        candidates = signed or drives
        if len(candidates) == 1:
            draft = DeskDraft(drive=candidates[0].id, donor=donor.id or 0, found=[donor.id or 0])
            return await self.start(t, "person", draft)
        draft = DeskDraft(donor=donor.id or 0, found=[donor.id or 0])
        return await self.start(t, "drive", draft, history=[])

    # ------------------------------------------------------------ the steps' questions

    async def _ask_drive(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        drives = await desk.drives_of_the_day(t.session, await t.actor(), self.tz)
        if not drives:
            return [Reply(_("You have no drive today (or in the last 24 hours) to check in at."))]
        rows = [[Desk(DeskAction.DRIVE, d.id).button(self._drive_label(d))] for d in drives]
        return [Reply(_("Which drive are you checking donors in at?"), rows)]

    def _drive_label(self, found: DeskDrive) -> str:
        drive = found.drive
        venue = drive.venue_name[:30]
        return f"{drive.starts_at.astimezone(self.tz):%d/%m %H:%M} · {venue}"

    async def _ask_list(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        found = await self._desk(t, draft)
        if found is None:
            return [refuse(access.Action.CHECK_IN)]
        entries = await desk.roster(t.session, found.id)
        shown = desk.search(entries, draft.query) if draft.query else entries
        pages = max(1, -(-len(shown) // PAGE))
        page = min(draft.page, pages - 1)
        lines = [self._heading(found), await self._counts(t, found, entries)]
        if draft.query:
            lines.append(
                ngettext(
                    "{n} person matches “{query}”.",
                    "{n} people match “{query}”.",
                    len(shown),
                ).format(n=len(shown), query=access.shown(draft.query))
            )
        elif not entries:
            lines.append(_("Nobody has signed up yet."))
        lines.append(_("Tap a person, or type a name or phone number to search."))
        rows = [[self._entry_button(e)] for e in shown[page * PAGE : (page + 1) * PAGE]]
        nav: list[Button] = []
        if page > 0:
            nav.append(Desk(DeskAction.PAGE, page - 1).button(_("◀️ Previous")))
        if page + 1 < pages:
            nav.append(Desk(DeskAction.PAGE, page + 1).button(_("Next ▶️")))
        if nav:
            rows.append(nav)
        if draft.query:
            rows.append([Desk(DeskAction.ALL).button(_("📋 Everyone"))])
        rows.append([Desk(DeskAction.NEW).button(_("➕ Someone not registered"))])
        rows.append([Desk(DeskAction.FINISH).button(_("🏁 Finish the drive"))])
        return [Reply("\n".join(lines), rows)]

    def _heading(self, found: DeskDrive) -> str:
        drive = found.drive
        return f"🩸 {drive.venue_name}\n🗓 {when_label(drive.starts_at, drive.ends_at, self.tz)}"

    async def _counts(self, t: Turn, found: DeskDrive, entries: list[Entry]) -> str:
        seats = await drive_store.seats_left(t.session, found.drive)
        confirmed = sum(1 for e in entries if e.signup_status == SignupStatus.CONFIRMED)
        waiting = sum(1 for e in entries if e.signup_status == SignupStatus.WAITING)
        outcomes = [e.outcome for e in entries]
        return _(
            "👥 Signed up: {confirmed}, waiting list: {waiting}, seats left: {seats}\n"
            "✅ Donated: {donated} · ⏸ Deferred: {deferred} · ✖️ Did not come: {absent}"
        ).format(
            confirmed=confirmed,
            waiting=waiting,
            seats=seats,
            donated=outcomes.count(CheckinOutcome.DONATED),
            deferred=outcomes.count(CheckinOutcome.DEFERRED),
            absent=outcomes.count(CheckinOutcome.NO_SHOW),
        )

    def _entry_button(self, entry: Entry) -> Button:
        marks = {
            CheckinOutcome.DONATED: "✅",
            CheckinOutcome.DEFERRED: "⏸",
            CheckinOutcome.NO_SHOW: "✖️",
        }
        if entry.outcome in marks:
            mark = marks[CheckinOutcome(entry.outcome)]
        elif entry.signup_status == SignupStatus.WAITING:
            mark = "⏳"
        else:
            mark = "▫️"
        name = entry.name[:NAME_IN_BUTTON]
        label = f"{mark} {name} · {blood_group_label(entry.blood_group)}"
        if entry.donor is not None:
            return Desk(DeskAction.PERSON, entry.donor.id or 0).button(label)
        assert entry.checkin is not None
        return Desk(DeskAction.WALK_IN, entry.checkin.id or 0).button(label)

    async def _ask_person(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        found = await self._desk(t, draft)
        if found is None:
            return [refuse(access.Action.CHECK_IN)]
        lines = [self._heading(found), ""]
        checkin: CheckIn | None = None
        if draft.donor:
            donor = await self._person(t, draft, found, draft.donor)
            if donor is None:
                return [
                    Reply(_("This person is no longer registered.")),
                    *await self._back_to_list(t, draft),
                ]
            signup = await drive_store.get_signup(t.session, found.id, donor.id or 0)
            checkin = await desk.checkin_of(t.session, found.id, donor.id)
            lines.append(f"👤 {donor.full_name or '—'} · {blood_group_label(donor.blood_group)}")
            lines.append(f"📞 {phone_label(donor.phone_e164)}")
            lines.append(self._signup_line(signup.status if signup else None))
            if donor.last_donation_date is not None:
                lines.append(
                    _("Last donation on record: {kind}, {date}.").format(
                        kind=donation_kind_label(donor.last_donation_kind),
                        date=date_label(donor.last_donation_date),
                    )
                )
            verdict = next_eligible(donor, desk.day_of(found.drive, self.tz), self.options)
            not_yet = verdict.earliest is not None and not verdict.allowed
            if not_yet and (checkin is None or checkin.outcome != CheckinOutcome.DONATED):
                lines.append(
                    _("⚠️ By the bot's records they may give again only from {date}.").format(
                        date=date_label(verdict.earliest)
                    )
                )
        else:
            walk_in = await self._walk_in(t, draft, found)
            if walk_in is None:
                return await self._back_to_list(t, draft)
            name, phone, checkin = walk_in
            lines.append(f"👤 {name} · " + _("not registered"))
            lines.append(f"📞 {phone_label(phone)}")
        if checkin is not None:
            lines.append(_("Recorded: {outcome}").format(outcome=_outcome_text(checkin)))
            lines.append(_("Tap another outcome to correct it."))
        else:
            lines.append(_("What happened?"))
        rows = [
            [Desk(DeskAction.KIND, code=kind).button("🩸 " + donation_kind_label(kind))]
            for kind in DESK_KINDS
        ]
        rows.append([Desk(DeskAction.DEFER).button(_("⏸ Deferred on site"))])
        rows.append([Desk(DeskAction.NO_SHOW).button(_("✖️ Did not come"))])
        rows.append([Desk(DeskAction.LIST).button(_("📋 Back to the list"))])
        return [Reply("\n".join(lines), rows)]

    def _signup_line(self, status: str | None) -> str:
        if status == SignupStatus.CONFIRMED:
            return _("🪑 Signed up (a seat)")
        if status == SignupStatus.WAITING:
            return _("⏳ On the waiting list")
        return _("🚶 Walk-in (not signed up)")

    async def _walk_in(
        self, t: Turn, draft: DeskDraft, found: DeskDrive
    ) -> tuple[str, str, CheckIn | None] | None:
        """The person not registered on screen: their name, phone and check-in so far."""
        if draft.walk_in:
            checkin = await t.session.get(CheckIn, draft.walk_in)
            if checkin is None or checkin.drive_id != found.id or checkin.donor_id is not None:
                return None
            return checkin.walk_in_name or "—", checkin.walk_in_phone or "", checkin
        if draft.name and draft.phone:
            existing = await desk.checkin_of(t.session, found.id, None, draft.phone)
            return draft.name, draft.phone, existing
        return None

    def _ask_volume(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        rows = [[Desk(DeskAction.VOLUME, ml).button(f"{ml} ml") for ml in WHOLE_BLOOD_VOLUMES]]
        return [Reply(_("Which bag? (250, 350 or 450 ml)"), rows)]

    def _ask_apheresis(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        kind = donation_kind_label(draft.kind)
        return [Reply(_("{kind}: how many ml were collected? Type the number.").format(kind=kind))]

    def _ask_period(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        rows = [[Desk(DeskAction.PERIOD, code=code).button(period_label(code))] for code in PERIODS]
        return [Reply(_("Deferred for how long?"), rows)]

    def _ask_reason(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        rows = [[Desk(DeskAction.REASON, code=code).button(onsite_label(code))] for code in REASONS]
        return [Reply(_("For what reason?"), rows)]

    def _ask_name(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        return [Reply(_("Someone not registered: type their full name."))]

    def _ask_phone(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        return [Reply(_("Their phone number? (e.g. 0912 345 678)"))]

    async def _ask_finish(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        text = _(
            "Finish the drive? Each donor checked in gets a thank-you with the day they may give "
            "again, and you get the day's figures. You can still correct a check-in today."
        )
        rows = [
            [Desk(DeskAction.FINISHED).button(_("🏁 Yes, finish and thank the donors"))],
            [Desk(DeskAction.LIST).button(_("📋 Back to the list"))],
        ]
        return [Reply(text, rows)]

    # ------------------------------------------------------------ answers

    async def _save(self, t: Turn, draft: DeskDraft, value: Any) -> Move:
        """One save for every step: a desk button (from any of its messages), or typed text."""
        if isinstance(value, Desk):
            return await self._tapped(t, draft, value)
        assert t.state is not None
        return await self._typed[t.state.step](t, draft, value)

    async def _tapped(self, t: Turn, draft: DeskDraft, button: Desk) -> Move:
        action = button.action
        if action is DeskAction.DRIVE:
            if await self._desk(t, draft, button.number) is None:
                return done(refuse(access.Action.CHECK_IN))
            draft.drive, draft.page, draft.query = button.number, 0, ""
            return go("person" if draft.donor else "list")
        if await self._desk(t, draft) is None:
            await t.close()
            return done(refuse(access.Action.CHECK_IN))
        if action is DeskAction.PAGE:
            draft.page = button.number
            return go("list")
        if action in (DeskAction.ALL, DeskAction.LIST):
            draft.query, draft.page = (
                ("", 0) if action is DeskAction.ALL else (draft.query, draft.page)
            )
            self._clear_person(draft)
            return go("list")
        if action is DeskAction.PERSON:
            found = await self._desk(t, draft)
            assert found is not None
            if await self._person(t, draft, found, button.number) is None:
                return done(refuse(access.Action.CHECK_IN))
            self._clear_person(draft)
            draft.donor = button.number
            return go("person")
        if action is DeskAction.WALK_IN:
            self._clear_person(draft)
            draft.walk_in = button.number
            return go("person")
        if action is DeskAction.NEW:
            self._clear_person(draft)
            return go("name")
        if action is DeskAction.FINISH:
            return go("finish")
        if action is DeskAction.FINISHED:
            return await self._finish(t, draft)
        if not (draft.donor or draft.walk_in or (draft.name and draft.phone)):
            return go("list")  # an outcome with nobody on screen (an old message)
        if action is DeskAction.KIND and button.code in tuple(DonationKind):
            draft.kind = button.code
            whole = button.code in (DonationKind.WHOLE_BLOOD, DonationKind.RED_CELLS)
            return go("volume" if whole else "apheresis")
        if action is DeskAction.VOLUME:
            return await self._typed_volume(t, draft, str(button.number))
        if action is DeskAction.DEFER:
            return go("period")
        if action is DeskAction.PERIOD and button.code in PERIODS:
            draft.period = button.code
            return go("reason")
        if action is DeskAction.REASON and button.code in REASONS and draft.period in PERIODS:
            found = await self._desk(t, draft)
            assert found is not None
            until = deferred_until(desk.day_of(found.drive, self.tz), draft.period)
            return await self._record(
                t,
                draft,
                desk.Outcome(
                    CheckinOutcome.DEFERRED, deferred_until=until, deferral_code=button.code
                ),
            )
        if action is DeskAction.NO_SHOW:
            return await self._record(t, draft, desk.Outcome(CheckinOutcome.NO_SHOW))
        return retry(_("Please use the buttons of the last message."))

    async def _search(self, t: Turn, draft: DeskDraft, text: str) -> Move:
        """A typed name or phone: the matching people; a phone nobody signed up with may be a
        registered walk-in, or someone to record."""
        found = await self._desk(t, draft)
        if found is None:
            await t.close()
            return done(refuse(access.Action.CHECK_IN))
        draft.query, draft.page = text.strip()[:60], 0
        phone = normalize_vn_phone(text)
        if phone is None or desk.search(await desk.roster(t.session, found.id), text):
            return go("list")
        known = await desk.registered_by_phone(t.session, phone)
        if known:
            draft.found = sorted({*draft.found, *(d.id or 0 for d in known)})
            rows = [
                [
                    Desk(DeskAction.PERSON, d.id or 0).button(
                        f"🚶 {(d.full_name or '—')[:NAME_IN_BUTTON]} · {blood_group_label(d.blood_group)}"
                    )
                ]
                for d in known
            ]
            rows.append([Desk(DeskAction.LIST).button(_("📋 Back to the list"))])
            text = _("Not signed up for this drive, but registered with the bot:")
            return Move(None, [Reply(text, rows)], ask=False)
        self._clear_person(draft)
        draft.phone, draft.query = phone, ""
        note = _("Nobody with {phone} is registered. Record them as a walk-in:").format(
            phone=phone_label(phone)
        )
        return go("name", Reply(note))

    async def _typed_volume(self, t: Turn, draft: DeskDraft, text: str) -> Move:
        volume = _number(text)
        if volume is None or volume not in WHOLE_BLOOD_VOLUMES:
            return retry(_("A whole-blood bag is 250, 350 or 450 ml."))
        kind = (
            DonationKind(draft.kind)
            if draft.kind in tuple(DonationKind)
            else DonationKind.WHOLE_BLOOD
        )
        return await self._record(t, draft, desk.Outcome(CheckinOutcome.DONATED, kind, volume))

    async def _typed_apheresis(self, t: Turn, draft: DeskDraft, text: str) -> Move:
        volume = _number(text)
        if volume is None or draft.kind not in tuple(DonationKind):
            return retry(_("Please type the volume in ml, e.g. 250."))
        outcome = desk.Outcome(CheckinOutcome.DONATED, DonationKind(draft.kind), volume)
        return await self._record(t, draft, outcome)

    async def _typed_name(self, t: Turn, draft: DeskDraft, text: str) -> Move:
        checked = clean_full_name(text)
        if checked.name is None:
            return retry(_("Please type the person's full name (letters only)."))
        draft.name = checked.name
        return go("person" if draft.phone else "phone")

    async def _typed_phone(self, t: Turn, draft: DeskDraft, text: str) -> Move:
        phone = normalize_vn_phone(text)
        if phone is None:
            return retry(_("That is not a Vietnamese phone number. Example: 0912 345 678."))
        known = await desk.registered_by_phone(t.session, phone)
        if known:
            donor = known[0]
            name = draft.name
            self._clear_person(draft)
            draft.donor = donor.id or 0
            draft.found = sorted({*draft.found, draft.donor})
            note = _("{phone} is registered with the bot as {name}.").format(
                phone=phone_label(phone), name=donor.full_name or name
            )
            return go("person", Reply(note))
        draft.phone = phone
        return go("person")

    # ------------------------------------------------------------ recording

    async def _record(self, t: Turn, draft: DeskDraft, outcome: desk.Outcome) -> Move:
        found = await self._desk(t, draft)
        actor = await t.actor()
        if found is None:
            await t.close()
            return done(refuse(access.Action.CHECK_IN))
        person: Donor | WalkIn
        invite = False
        if draft.donor:
            donor = await self._person(t, draft, found, draft.donor)
            if donor is None:
                return go("list", Reply(_("This person is no longer registered.")))
            person = donor
        else:
            walk_in = await self._walk_in(t, draft, found)
            if walk_in is None:
                return go("list")
            person, invite = WalkIn(walk_in[0], walk_in[1]), walk_in[2] is None
        try:
            checkin, corrected = await desk.record_outcome(
                t.session,
                actor,
                found,
                person,
                outcome,
                tz=self.tz,
                today=t.today,
                options=self.options,
            )
        except InputError as error:
            return retry(str(error))
        name = person.full_name if isinstance(person, Donor) else person.name
        said = (
            _("✏️ Corrected: {name}: {outcome}.")
            if corrected
            else _("✅ Recorded: {name}: {outcome}.")
        ).format(name=name or "—", outcome=_outcome_text(checkin))
        replies = [Reply(said)]
        if isinstance(person, Donor) and outcome.outcome is CheckinOutcome.DONATED:
            verdict = next_eligible(person, t.today, self.options)
            if verdict.earliest is not None:
                replies.append(
                    Reply(
                        _("They may give again from {date}.").format(
                            date=date_label(verdict.earliest)
                        )
                    )
                )
        if isinstance(person, WalkIn) and invite and checkin.id is not None:
            replies.append(Reply(_("Forward this invitation to them:")))
            replies.append(Reply(self.invitation(person.name, checkin.id)))
        self._clear_person(draft)
        return go("list", *replies)

    def invitation(self, name: str, checkin_id: int) -> str:
        """What a leader forwards to someone not registered: an invitation whose link brings
        today's check-in into their record once they register."""
        token = invitation.make_token(self.invitation_key, checkin_id)
        return _(
            "Hello {name}, thank you for coming to give blood today! Join the voluntary blood "
            "donation bot to know when you may give again and to hear of drives near you: {link}"
        ).format(name=name, link=self.deep_link(token))

    async def _finish(self, t: Turn, draft: DeskDraft) -> Move:
        found = await self._desk(t, draft)
        if found is None:
            await t.close()
            return done(refuse(access.Action.CHECK_IN))
        result = await thank_donors(
            t.session,
            found.id,
            tz=self.tz,
            quiet_hours=self.quiet_hours,
            leader=t.me,
            options=self.options,
            today=t.today,
        )
        await t.close()
        if result is None:
            return done(refuse(access.Action.CHECK_IN))
        text = ngettext(
            "🏁 Thank you! A thank-you is on its way to {n} donor.",
            "🏁 Thank you! A thank-you is on its way to {n} donors.",
            result.thanked,
        ).format(n=result.thanked)
        if result.note_queued:
            text += "\n" + _("The day's figures follow in a moment.")
        else:
            text += "\n\n" + result.figures.text()
        text += "\n" + _(
            "A check-in can still be corrected with /checkin until a day after the drive."
        )
        return done(Reply(text))

    # ------------------------------------------------------------ helpers

    async def _desk(
        self, t: Turn, draft: DeskDraft, drive_id: int | None = None
    ) -> DeskDrive | None:
        """The drive at the desk, if still of the day and in the person's scope."""
        return await desk.desk_drive(t.session, await t.actor(), drive_id or draft.drive, self.tz)

    async def _person(
        self, t: Turn, draft: DeskDraft, found: DeskDrive, donor_id: int
    ) -> Donor | None:
        """A registered person the leader may open at this drive: on its list (signed up or
        checked in), found by their phone number, or shown by their card."""
        donor = await t.session.get(Donor, donor_id)
        if donor is None or not donor.is_registered:
            return None
        if donor_id in draft.found:
            return donor
        signup = await drive_store.get_signup(t.session, found.id, donor_id)
        if signup is not None and signup.status != SignupStatus.CANCELLED:
            return donor
        return donor if await desk.checkin_of(t.session, found.id, donor_id) else None

    async def _back_to_list(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        self._clear_person(draft)
        return await self.start(t, "list", draft, history=["drive"])

    @staticmethod
    def _clear_person(draft: DeskDraft) -> None:
        draft.donor, draft.walk_in, draft.name, draft.phone = 0, 0, "", ""
        draft.kind, draft.period = "", ""

    async def before_first(self, t: Turn, draft: DeskDraft) -> list[Reply]:
        """/back at the first step leaves the desk."""
        await t.close()
        return [Reply(_("The check-in desk is closed; everything recorded is kept."))]

    async def on_cancel(self, t: Turn) -> str:
        """Leave the desk (what was recorded stays)."""
        await t.close()
        return _("The check-in desk is closed; everything recorded is kept.")


def _read_tap(t: Turn, draft: DeskDraft, tapped: Desk) -> Read:
    return Accept(tapped)


def _accept(t: Turn, draft: DeskDraft, text: str) -> Read:
    return Accept(text)


def _number(text: str) -> int | None:
    digits = ascii_digits(text).lower().replace("ml", "").strip()
    return int(digits) if digits.isdigit() and len(digits) <= 4 else None


def _outcome_text(checkin: CheckIn) -> str:
    """ "donated, whole blood 350 ml", "deferred until 10/12/2026 (blood pressure)"."""
    if checkin.outcome == CheckinOutcome.DONATED:
        return _("donated, {kind} {volume} ml").format(
            kind=donation_kind_label(checkin.kind).lower(), volume=checkin.volume_ml or "—"
        )
    if checkin.outcome == CheckinOutcome.DEFERRED:
        return _("deferred until {date} ({reason})").format(
            date=date_label(checkin.deferred_until),
            reason=onsite_label(checkin.deferral_code or ""),
        )
    return _("did not come")


def _private_only() -> Reply:
    return Reply(
        _("Donors' names and phone numbers are shown only in a private chat with the bot.")
    )


def _card_for_the_desk() -> Reply:
    """What anyone but the drive's leaders and staff sees of someone's card: nothing of theirs."""
    return Reply(
        _(
            "This is a blood donor's card. Only the club leaders and staff at the drive "
            "where they give can open it. To get your own card, register with /start."
        )
    )
