"""The conversation router: what the bot answers to each command, text, button, contact, location.

Channel-neutral: Telegram handlers (and the console, and later Zalo) turn their input into these
calls and render the `Outcome`. Every call runs in one database transaction, so an answer and the
move to the next step are stored together. Multi-step conversations live in services/flows/.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time as clock
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor
from models.database import Database
from models.types import utcnow
from services.conversation import offered_store, repeats, state_store
from services.conversation.buttons import ButtonData, ButtonRegistry, ButtonRoute, decode
from services.conversation.commands import Command, CommandRegistry, Needs
from services.conversation.dialog import Keyboard, Outcome, Reply, Sender, Upload
from services.conversation.flow import Flow, Turn
from services.conversation.menus import MenuItem, OpenMenu, help_text, main_menu
from services.conversation.numbered import CommandWords, Offered, Picked, interpret, offer
from services.core.i18n import N_, SUPPORTED, _, get_locale, pick_locale, set_locale, use_locale
from services.core.labels import language_label
from services.core.text import clean_input, fold
from services.donations import (
    after_drive,
    card,
    card_token,
    invitation,
    signups,
    views,
    walk_in_views,
)
from services.donations.buttons import DonatedElsewhere, RotateCard
from services.donations.card_token import card_key
from services.donations.checkin import CheckinFlow
from services.donations.elsewhere import DonatedElsewhereFlow
from services.donors import donor_store
from services.donors.consent import (
    CONSENT_VERSION,
    ChooseLanguage,
    ConsentAnswer,
    ForgetAnswer,
    SetLanguage,
    consent_text,
)
from services.donors.profile import profile_card
from services.donors.questions import EDITABLE, EditField
from services.donors.registration import RegistrationFlow
from services.donors.reminder_prefs import ReminderHour, ReminderSwitch
from services.drives import citizen
from services.drives.buttons import (
    CancelSignup,
    DrivesPage,
    FollowMore,
    JoinWaitlist,
    ManageDrive,
    SignUp,
    SignupList,
    Unfollow,
)
from services.drives.follow import FollowFlow
from services.drives.manage import ManageDriveFlow
from services.drives.new_drive import NewDriveFlow
from services.eligibility.check import EligibilityFlow
from services.eligibility.donor_status import may_give_now, schedule_reminder
from services.eligibility.personal_answers import personal_answer
from services.eligibility.rules import RuleOptions
from services.eligibility.texts import RemindMe
from services.knowledge import faq
from services.knowledge.small_talk import small_talk
from services.outreach import alerts, notify, outbox, undelivered
from services.outreach.broadcast import BROADCAST, URGENT, BroadcastFlow
from services.outreach.urgent import CanCome, UrgentResponses
from services.reminders import settings as reminder_settings
from services.reminders.buttons import Snooze
from services.reminders.drive_reminders import sweep_drive_reminders
from services.reminders.eligible_again import remind
from services.reminders.sweep import BATCH as REMINDER_BATCH
from services.reminders.sweep import sweep_all_due
from services.roles import access, admin, erasure
from services.stats import digest, export_jobs, exports
from services.stats import view as stats_view
from services.stats.export_buttons import StatsExport
from services.stats.subscriptions import DigestSwitch
from services.stats.upload import PlanUploadFlow
from services.stats.view import StatsButton

DEEP_LINK = re.compile(r"^drive_(\d{1,9})$")


def shared_link(payload: str | None) -> str | None:
    """A start payload that leads somewhere once the person is registered: a drive someone
    shared, or a walk-in's invitation from the desk."""
    if payload and (DEEP_LINK.match(payload) or invitation.is_invitation(payload)):
        return payload
    return None


# Every command, declared once on the method that answers it (below, in ChatService).
COMMANDS = CommandRegistry()
CommandAnswer = Callable[[Turn, list[str]], Awaitable[Outcome]]
# Every button kind the router answers, declared once on the method that answers it.
BUTTONS = ButtonRegistry()
ButtonAnswer = Callable[[Turn, ButtonData | None], Awaitable[Outcome]]
# Health answers of an abandoned flow are deleted after this long without activity.
HEALTH_ANSWERS_TTL = timedelta(hours=1)
# Before consent nothing is stored; which consent text a person was shown (its language, the link
# they came with) is remembered in memory only, so that a typed "đồng ý" can answer it.
CONSENT_MEMORY = 10_000
CONSENT_MEMORY_SECONDS = 24 * 3600
# Typed agreement or refusal at the consent question (folded: no diacritics, lower case).
AGREE_VI = {"dong y", "toi dong y", "em dong y", "minh dong y", "dong y a", "toi dong y a", "co"}
AGREE_EN = {"i agree", "agree", "yes", "yes i agree", "i accept", "accept"}
AGREE_ANY = {"ok", "oke", "okay", "ok dong y"}
DISAGREE = {
    "khong dong y",
    "toi khong dong y",
    "khong",
    "khong a",
    "no",
    "i do not agree",
    "i don t agree",
    "disagree",
}
# Typed yes / no at a question whose buttons mean yes and no.
YES_WORDS = {"co", "co a", "vang", "da", "u", "yes", "y", "yeah", "yep", "ok", "dung", "dong y"}
NO_WORDS = {"khong", "khong a", "ko", "k", "no", "n", "nope", "chua", "chua a"}
STOP_WORDS = {
    "dừng",
    "dừng lại",
    "hủy đăng ký",
    "huỷ đăng ký",
    "huy dang ky",
    "stop",
    "unsubscribe",
}


class ChatService:
    """Entry points, one per kind of input."""

    def __init__(
        self,
        db: Database,
        *,
        organization: str,
        tz: ZoneInfo,
        default_locale: str = "vi",
        admin_ids: frozenset[str] = frozenset(),
        quiet_hours: tuple[time, time] = (time(21), time(7)),
        rule_options: RuleOptions | None = None,
        pseudonym_key: bytes | None = None,
        deep_link: Callable[[str], str] | None = None,
        export_inline_rows: int = exports.INLINE_ROWS,
    ):
        self.db = db
        # Turns of different people run side by side up to what the database takes at once (one
        # writer on SQLite): the bound is on the transaction, not the update, so sending a reply
        # (or waiting out a platform's short 429) never holds up anyone else's turn.
        self._writers = asyncio.Semaphore(db.writers_at_once)
        # Who may have a reply waiting in the outbox (read at the first turn, then kept).
        self._maybe_unseen: set[int] | None = None
        # A /stats export of more rows is built by the scheduler and sent when ready.
        self.export_inline_rows = export_inline_rows
        # bot.py passes the configured key; a service made in a test gets a key of its own.
        self.pseudonym_key = pseudonym_key or secrets.token_bytes(32)
        self._consent_shown: OrderedDict[tuple[str, str], tuple[str, str | None, float]] = (
            OrderedDict()
        )
        # Before consent, the numbers shown on a channel without buttons (memory only).
        self._unconsented_offers = offered_store.Unconsented()
        self.organization = organization
        self.tz = tz
        self.default_locale = default_locale
        self.admin_ids = admin_ids
        # How a shared link to a start payload looks (the channel knows its own name).
        self.deep_link: Callable[[str], str] = deep_link or (lambda payload: f"/start {payload}")
        self.quiet_hours = quiet_hours
        self.registration = RegistrationFlow(
            after_registration=self._after_registration,
            last_donation_known=self._set_reminder_day,
        )
        self.new_drive = NewDriveFlow(tz, quiet_hours, self.deep_link)
        self.manage = ManageDriveFlow(tz)
        self.follow = FollowFlow()
        self.check = EligibilityFlow(rule_options)
        self.broadcast = BroadcastFlow(BROADCAST, tz, quiet_hours, may_give_now)
        self.urgent = BroadcastFlow(URGENT, tz, quiet_hours, may_give_now)
        self.urgent_responses = UrgentResponses(tz, admin_ids)
        self.elsewhere = DonatedElsewhereFlow(rule_options)
        self.plan_upload = PlanUploadFlow()
        self.card_key = card_key(self.pseudonym_key)
        self.invitation_key = invitation.invitation_key(self.pseudonym_key)
        self.quiet_hours = quiet_hours
        self.desk = CheckinFlow(
            tz, self.deep_link, quiet_hours, rule_options, invitation_key=self.invitation_key
        )
        flows: tuple[Flow, ...] = (
            self.registration,
            self.new_drive,
            self.manage,
            self.follow,
            self.check,
            self.broadcast,
            self.urgent,
            self.elsewhere,
            self.plan_upload,
            self.desk,
        )
        self.flows: dict[str, Flow] = {flow.name: flow for flow in flows}

    def today(self) -> date:
        """Today in the configured time zone."""
        return datetime.now(self.tz).date()

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """A session of a person's update, once the database has room for it."""
        async with self._writers, self.db.session() as session:
            yield session

    @asynccontextmanager
    async def _turn(self, sender: Sender) -> AsyncIterator[Turn]:
        """Load the person, set their locale, and note the event id (for redelivered events)."""
        async with self._session() as session:
            # The person's row is locked for the turn: a redelivered or concurrent update of the
            # same person waits, then sees this one's event id (the repeat check below).
            donor = await donor_store.get_donor(
                session, sender.channel, sender.external_id, lock=True
            )
            state = await state_store.get_state(session, donor.id) if donor and donor.id else None
            stored_locale = donor.locale if donor else None
            set_locale(pick_locale(stored_locale, sender.language_code, self.default_locale))
            duplicate = False
            if donor is not None and donor.id is not None and sender.event_id is not None:
                duplicate = not await repeats.first_time(
                    session, sender.channel, str(sender.event_id), donor.id
                )
                if not duplicate and sender.private:  # never let a group become where
                    donor.chat_id = sender.chat_id  # their messages go
            expired = False
            if state is not None and not duplicate:
                flow = self.flows.get(state.flow)
                if flow is not None and flow.holds_health_answers and self._idle(state.updated_at):
                    await state_store.clear_state(session, state.donor_id)
                    state, expired = None, True
                elif state is not None:
                    state.updated_at = utcnow()  # activity keeps the flow open
            yield Turn(
                session,
                sender,
                donor,
                state,
                duplicate,
                self.today(),
                expired,
                load_actor=lambda: access.load_actor(
                    session, sender.channel, sender.external_id, self.admin_ids
                ),
            )

    def _flow(self, t: Turn) -> Flow | None:
        """The flow the person is in, if any."""
        return self.flows.get(t.state.flow) if t.state is not None else None

    # ------------------------------------------------------------ commands

    async def command(self, sender: Sender, name: str, args: list[str]) -> Outcome:
        """A slash command: looked up in COMMANDS; one the bot does not have is read as text."""
        command = COMMANDS.get(name)
        if command is None:
            return await self.text(sender, " ".join([f"/{name}", *args]))
        async with self._turn(sender) as t:
            return self._shown(t, await self._command(t, command, args))

    async def _command(self, t: Turn, command: Command, args: list[str]) -> Outcome:
        """A command of the registry, checked against what it needs."""
        if command.needs is not Needs.NOTHING:
            if t.donor is None:
                return Outcome([Reply(_("Please send /start first."))])
            if t.duplicate:
                return Outcome(await self._where_we_are(t))
        if command.needs is Needs.REGISTRATION and not t.me.is_registered:
            return Outcome([Reply(_("Please finish registering first: send /start."))])
        answer: CommandAnswer = getattr(self, command.handler_name)
        return await self._with_notices(t, await answer(t, args))

    @COMMANDS.command(
        "start",
        menu=N_("Register or open the menu"),
        help=N_("register or open the menu"),
        needs=Needs.NOTHING,
    )
    async def _start(self, t: Turn, args: list[str]) -> Outcome:
        """Choose a language and consent, or resume, or show the menu."""
        payload = args[0] if args else None
        link = shared_link(payload)
        if t.donor is None:
            return Outcome([self._language_question(onboarding=True, after=link)])
        if t.duplicate:
            return Outcome(await self._where_we_are(t))
        if payload and card_token.is_card_payload(payload):
            # A donor's card scanned by a leader at the desk (anyone else learns nothing).
            return Outcome(await self.desk.open_card(t, payload, self.card_key))
        out = Outcome()
        if t.donor.is_stopped:
            donor_store.update_donor(t.donor, stopped_at=None)
            out.add(Reply(_("Welcome back! Messages from the bot are on again.")))
        if link and t.donor.is_registered:
            return out.add(*await self._after_registration(t, link))
        if link and not t.donor.is_registered:
            return out.add(*await self.registration.begin(t, after=link))
        return out.add(*await self._resume(t, greet=True))

    @COMMANDS.command("eligibility", menu=N_("Can I give blood?"), help=N_("can I give blood?"))
    async def _eligibility(self, t: Turn, args: list[str]) -> Outcome:
        """The guided eligibility check."""
        return Outcome(await self.check.begin(t))

    @COMMANDS.command(
        "drives",
        menu=N_("Blood drives near you"),
        help=N_("upcoming drives near you"),
        needs=Needs.REGISTRATION,
    )
    async def _drives(self, t: Turn, args: list[str]) -> Outcome:
        """Upcoming drives in the wards the person follows."""
        return Outcome(await citizen.list_drives(t, self.tz))

    @COMMANDS.command(
        "donations",
        menu=N_("Your donations"),
        help=N_("your donations, when you may give again, milestones"),
        needs=Needs.REGISTRATION,
    )
    async def _donations(self, t: Turn, args: list[str]) -> Outcome:
        """The donor's history."""
        if t.state is not None:
            await t.close()
        return Outcome(await views.donations_view(t, self.check.options))

    @COMMANDS.command(
        "card",
        menu=N_("Your donor card (QR)"),
        help=N_("your donor card, a QR code to check in at a drive"),
        needs=Needs.REGISTRATION,
    )
    async def _card(self, t: Turn, args: list[str]) -> Outcome:
        """The donor card."""
        return Outcome(await card.card(t, self.card_key, self.deep_link, self.check.options))

    @COMMANDS.command(
        "wards", menu=N_("Wards you follow"), help=N_("wards you follow"), needs=Needs.REGISTRATION
    )
    async def _wards(self, t: Turn, args: list[str]) -> Outcome:
        """The wards the person follows, to add or remove."""
        return Outcome(await citizen.wards_menu(t))

    @COMMANDS.command(
        "profile",
        menu=N_("See and change your details"),
        help=N_("see and change your details"),
        needs=Needs.NOTHING,
    )
    async def _profile(self, t: Turn, args: list[str]) -> Outcome:
        """Every field with buttons to change it."""
        if t.donor is None:
            return Outcome([Reply(_("We hold no data about you. Send /start to register."))])
        if not t.donor.is_registered:
            out = Outcome([Reply(_("You have not finished registering yet. Let's continue:"))])
            return out.add(*await self._resume(t))
        if t.state is not None:
            await t.close()
        return Outcome([profile_card(t.donor)])

    @COMMANDS.command(
        "language",
        menu=N_("Tiếng Việt / English"),
        help=N_("Tiếng Việt / English"),
        needs=Needs.NOTHING,
    )
    async def _language(self, t: Turn, args: list[str]) -> Outcome:
        """Both languages."""
        return Outcome([self._language_question(onboarding=t.donor is None)])

    @COMMANDS.command(
        "stop",
        menu=N_("No more messages"),
        help=N_("no more messages (until /start)"),
        needs=Needs.NOTHING,
    )
    async def _stop(self, t: Turn, args: list[str]) -> Outcome:
        """No more messages until the next /start."""
        if t.donor is None:
            return Outcome([Reply(_("We hold no data about you and will not message you."))])
        if not t.donor.is_stopped:
            donor_store.update_donor(t.donor, stopped_at=utcnow())
            await outbox.cancel_pending_for(t.session, t.donor.id or 0)
        text = _(
            "Done: the bot will not send you any messages until you send /start "
            "again. Your registration is kept; /forget deletes it."
        )
        return Outcome([Reply(text, keyboard=Keyboard.REMOVE)])

    @COMMANDS.command(
        "forget",
        menu=N_("Delete all your data"),
        help=N_("delete all your data"),
        needs=Needs.NOTHING,
    )
    async def _forget(self, t: Turn, args: list[str]) -> Outcome:
        """Ask for confirmation before deleting everything."""
        sender = t.sender
        if not await erasure.holds_anything(t.session, sender.channel, sender.external_id):
            return Outcome([Reply(_("We hold no data about you: there is nothing to delete."))])
        return Outcome([_forget_question()])

    @COMMANDS.command("back", help=N_("one step back while registering"), needs=Needs.NOTHING)
    async def _back(self, t: Turn, args: list[str]) -> Outcome:
        """One step back in the open flow."""
        flow = self._flow(t)
        if flow is None or t.duplicate:
            return Outcome(
                [Reply(_("There is no question to go back to. /help shows what I can do."))]
            )
        return Outcome(await flow.on_back(t))

    @COMMANDS.command("cancel", help=N_("leave the current question"), needs=Needs.NOTHING)
    async def _cancel(self, t: Turn, args: list[str]) -> Outcome:
        """Leave the open flow, keeping what was already saved."""
        flow = self._flow(t)
        if flow is None:
            return Outcome([Reply(_("There is nothing to cancel."), keyboard=Keyboard.REMOVE)])
        return Outcome([Reply(await flow.on_cancel(t), keyboard=Keyboard.REMOVE)])

    @COMMANDS.command(
        "help", menu=N_("What the bot does"), help=N_("this message"), needs=Needs.NOTHING
    )
    async def _help(self, t: Turn, args: list[str]) -> Outcome:
        """What the bot does and its commands."""
        text = help_text(COMMANDS.help_lines())
        if t.donor is None:
            text += "\n\n" + _("Send /start to register.")
        return Outcome([Reply(text)])

    # Leaders and staff (each checks the person's roles and scope in services/roles).

    @COMMANDS.command("newdrive")
    async def _new_drive(self, t: Turn, args: list[str]) -> Outcome:
        """Announce a drive."""
        return Outcome(await self.new_drive.begin(t))

    @COMMANDS.command("mydrives")
    async def _my_drives(self, t: Turn, args: list[str]) -> Outcome:
        """The drives the person may change."""
        return Outcome(await self.manage.overview(t))

    @COMMANDS.command("checkin")
    async def _checkin(self, t: Turn, args: list[str]) -> Outcome:
        """The check-in desk of a drive of the day."""
        return Outcome(await self.desk.begin(t))

    @COMMANDS.command("signups")
    async def _signups(self, t: Turn, args: list[str]) -> Outcome:
        """Who signed up for the person's drives."""
        return Outcome(await signups.overview(t, self.tz))

    @COMMANDS.command("broadcast")
    async def _broadcast(self, t: Turn, args: list[str]) -> Outcome:
        """A notice to the donors of wards."""
        return Outcome(await self.broadcast.begin(t))

    @COMMANDS.command("urgent")
    async def _urgent(self, t: Turn, args: list[str]) -> Outcome:
        """An urgent call for donors."""
        return Outcome(await self.urgent.begin(t))

    @COMMANDS.command("stats")
    async def _stats(self, t: Turn, args: list[str]) -> Outcome:
        """Figures and progress against the plan (staff, leaders, admins)."""
        if args:
            period = stats_view.typed_period(" ".join(args), t.today)
            if period is None:
                example = _(
                    "Please type the period like 01/03/2027-31/03/2027, or a month: 3/2027."
                )
                return Outcome([Reply(example)])
            return Outcome(await stats_view.open_stats(t, self.tz, period))
        return Outcome(await stats_view.open_stats(t, self.tz))

    @COMMANDS.command("plan")
    async def _plan(self, t: Turn, args: list[str]) -> Outcome:
        """Upload the year's plan (staff)."""
        return Outcome(await self.plan_upload.begin(t, args))

    # Roles: they answer anyone (even before consent), saying who may do what.

    @COMMANDS.command("grant", needs=Needs.NOTHING)
    async def _grant(self, t: Turn, args: list[str]) -> Outcome:
        """/grant staff|leader …."""
        return await admin.grant(t.session, await t.actor(), args)

    @COMMANDS.command("revoke", needs=Needs.NOTHING)
    async def _revoke(self, t: Turn, args: list[str]) -> Outcome:
        """/revoke <number>."""
        return await admin.revoke(t.session, await t.actor(), args, self.tz)

    @COMMANDS.command("roles", needs=Needs.NOTHING)
    async def _roles(self, t: Turn, args: list[str]) -> Outcome:
        """Who holds roles in the person's scope."""
        return await admin.list_roles(t.session, await t.actor(), args, self.tz)

    @COMMANDS.command("whoami", needs=Needs.NOTHING)
    async def _whoami(self, t: Turn, args: list[str]) -> Outcome:
        """The person's own roles."""
        return await admin.whoami(t.session, await t.actor(), args)

    # ------------------------------------------------------------ free input

    async def text(self, sender: Sender, text: str) -> Outcome:
        """A typed message: the answer to the open question, a stop word, or a question (on a
        channel without buttons also a choice's number or words, or a command as a word)."""
        text = clean_input(text)
        async with self._turn(sender) as t:
            return self._shown(t, await self._typed(t, text))

    async def _typed(self, t: Turn, text: str) -> Outcome:
        """What a typed line means. Without buttons, first what `numbered.interpret` reads in
        it against the numbers shown last: a slash command, a choice by number or words, a
        command as a plain word ("dừng", "trợ giúp"); a command the bot does not have is text."""
        if not t.sender.has_buttons:
            meant = interpret(text, self._offered_to(t), partial=self._partial_choices(t))
            if isinstance(meant, Picked):
                return await self._route_choice(t, meant.data)
            if isinstance(meant, CommandWords):
                command = COMMANDS.get(meant.name)
                if command is not None:
                    return await self._command(t, command, list(meant.args))
        if _is_stop_word(text):
            stop = COMMANDS.get("stop")
            assert stop is not None
            return await self._command(t, stop, [])
        return await self._text(t, text)

    async def _text(self, t: Turn, text: str) -> Outcome:
        """Typed text: the answer to the open step, small talk, or a question."""
        if t.donor is None:
            return await self._before_consent(t, text)
        if t.duplicate:
            return Outcome(await self._where_we_are(t))
        if (again := await self._ask_again_if_unseen(t)) is not None:
            return again
        out = Outcome()
        if t.expired:
            out.add(_expired_notice())
        flow = self._flow(t)
        friendly = small_talk(text)
        if flow is None:
            if friendly is not None:
                return out.add(main_menu(friendly) if t.me.is_registered else Reply(friendly))
            return out.add(_answer_question(text, t.me, t.today, self.check.options))
        assert t.state is not None
        prompt = await flow.prompt(t)
        typed = _typed_choice(text, prompt)
        if typed is not None:
            return out.add(*(await self._route_choice(t, typed)).replies)
        if not flow.takes_free_text(t.state.step):
            # A question (or a friendly word) typed at a step is answered, never stored as
            # the answer; then the step is asked again.
            if friendly is not None:
                return out.add(Reply(friendly), *prompt)
            if faq.looks_like_question(text, get_locale()):
                return out.add(_question_in_a_flow(text), *prompt)
        return out.add(*await flow.on_text(t, text))

    async def contact(self, sender: Sender, phone_number: str, is_own: bool) -> Outcome:
        """A shared contact card."""
        async with self._turn(sender) as t:
            return self._shown(t, await self._contact(t, phone_number, is_own))

    async def _contact(self, t: Turn, phone_number: str, is_own: bool) -> Outcome:
        if not t.duplicate and (again := await self._ask_again_if_unseen(t)) is not None:
            return again
        flow = self._flow(t)
        if flow is not None and not t.duplicate:
            replies = await flow.on_contact(t, phone_number, is_own)
            if replies is not None:
                return Outcome(replies)
        return await self._not_expected(t)

    async def location(self, sender: Sender, latitude: float, longitude: float) -> Outcome:
        """A shared location."""
        async with self._turn(sender) as t:
            return self._shown(t, await self._location(t, latitude, longitude))

    async def _location(self, t: Turn, latitude: float, longitude: float) -> Outcome:
        if not t.duplicate and (again := await self._ask_again_if_unseen(t)) is not None:
            return again
        flow = self._flow(t)
        if flow is not None and not t.duplicate:
            replies = await flow.on_location(t, latitude, longitude)
            if replies is not None:
                return Outcome(replies)
        return await self._not_expected(t)

    async def document(self, sender: Sender, upload: Upload) -> Outcome:
        """A file sent as a document: read where the open step asks for one (a plan)."""
        async with self._turn(sender) as t:
            return self._shown(t, await self._document(t, upload))

    async def _document(self, t: Turn, upload: Upload) -> Outcome:
        flow = self._flow(t)
        if flow is not None and not t.duplicate:
            replies = await flow.on_document(t, upload)
            if replies is not None:
                return Outcome(replies)
        return await self._unsupported(t)

    async def unsupported(self, sender: Sender) -> Outcome:
        """A sticker, photo, voice note…: say what works, and repeat the open question."""
        async with self._turn(sender) as t:
            return self._shown(t, await self._unsupported(t))

    async def _unsupported(self, t: Turn) -> Outcome:
        if t.sender.has_buttons:
            said = _("I can only read text, buttons, a shared contact or a location.")
        else:
            said = _("I can only read text: type your answer, or the number of a choice.")
        out = Outcome([Reply(said)])
        if t.donor is None:
            return out.add(self._language_question(onboarding=True))
        return out.add(*await self._where_we_are(t))

    async def choice(self, sender: Sender, data: str) -> Outcome:
        """A tapped button."""
        async with self._turn(sender) as t:
            return self._shown(t, await self._route_choice(t, data))

    # ------------------------------------------------------------ numbers for typed choices

    def _offered_to(self, t: Turn) -> Offered:
        """The numbers shown to the person last (kept in memory only before consent)."""
        if t.donor is not None:
            return offered_store.stored(t.donor)
        return self._unconsented_offers.get((t.sender.channel, t.sender.external_id))

    def _partial_choices(self, t: Turn) -> bool:
        """Whether a part of a choice's words may pick it: not where any text is an answer."""
        flow = self._flow(t)
        return flow is None or t.state is None or not flow.takes_free_text(t.state.step)

    def _shown(self, t: Turn, out: Outcome) -> Outcome:
        """On a channel without buttons: number the answer's choices and keep what the numbers
        stand for with the person, in this turn's transaction (an answer without choices
        clears them); the channel shows the same numbers (`Outcome.offered`)."""
        if t.sender.has_buttons:
            return out
        out.offered = offer(out.replies)
        key = (t.sender.channel, t.sender.external_id)
        if t.donor is not None:
            offered_store.keep(t.donor, out.offered, utcnow())
            self._unconsented_offers.keep(key, Offered())
        else:  # not consented, or just forgotten: nothing may be stored
            self._unconsented_offers.keep(key, out.offered)
        return out

    async def next_offer_number(self, channel: str, chat_id: str) -> int:
        """Where a message from the outbox to a chat without buttons starts its numbers."""
        async with self._session() as session:
            return await offered_store.next_number(session, channel, chat_id, utcnow())

    async def token_refused(self, channel: str, setting: str) -> int:
        """A channel refused the bot's token: tell the administrators on Telegram, through the
        outbox (once a day per channel); returns how many alerts were queued."""
        async with self._session() as session:
            return await alerts.token_refused(
                session, self.admin_ids, channel, setting, utcnow(), self.default_locale
            )

    async def offer_more(self, channel: str, chat_id: str, offered: Offered) -> None:
        """A message from the outbox showed these numbered choices: keep them with the person."""
        async with self._session() as session:
            await offered_store.add(session, channel, chat_id, offered, utcnow())

    async def _route_choice(self, t: Turn, data: str) -> Outcome:
        """What a button (tapped, or typed by its label) does: looked up in BUTTONS; a kind the
        open flow owns goes to the flow."""
        button = decode(data)
        route = BUTTONS.get(button) if button is not None else None
        if route is not None and route.needs is Needs.NOTHING:
            return await self._answer_button(t, route, button)
        if t.donor is None:
            out = Outcome([Reply(_("Hello! To begin, choose your language."))])
            return out.add(self._language_question(onboarding=True))
        if t.duplicate:
            return Outcome(await self._where_we_are(t))
        if (again := await self._ask_again_if_unseen(t)) is not None:
            return again
        if route is not None:
            if route.needs is Needs.REGISTRATION and not t.donor.is_registered:
                return Outcome([Reply(_("Please finish registering first: send /start."))])
            return await self._answer_button(t, route, button)
        flow = self._flow(t)
        if flow is not None and data.partition(":")[0] in flow.prefixes:
            replies = await flow.on_choice(t, data)
            if replies is not None:
                return Outcome(replies)
        return await self._stale_button(t)

    async def _answer_button(
        self, t: Turn, route: ButtonRoute, button: ButtonData | None
    ) -> Outcome:
        """Call the router method declared for the button's kind."""
        answer: ButtonAnswer = getattr(self, route.handler_name)
        return await answer(t, button)

    async def _stale_button(self, t: Turn) -> Outcome:
        """A button of an earlier question (or forged data): say so, repeat the open question."""
        out = Outcome(toast=_("That button belongs to an earlier question."))
        return out.add(*await self._where_we_are(t, quiet=True))

    @BUTTONS.route(ChooseLanguage, needs=Needs.NOTHING)
    async def _language_chosen(self, t: Turn, button: ChooseLanguage) -> Outcome:
        """The first question's answer (a shared link may ride along)."""
        if button.locale not in SUPPORTED:
            return await self._stale_button(t)
        return await self._chose_language(t, button.locale, button.after or None)

    @BUTTONS.route(SetLanguage, needs=Needs.NOTHING)
    async def _language_set(self, t: Turn, button: SetLanguage) -> Outcome:
        """Another language, chosen from /language or the profile."""
        if button.locale not in SUPPORTED:
            return await self._stale_button(t)
        return await self._chose_language(t, button.locale)

    @BUTTONS.route(ConsentAnswer, needs=Needs.NOTHING)
    async def _consent_tapped(self, t: Turn, button: ConsentAnswer) -> Outcome:
        """Agreeing or not to the consent text."""
        return await self._consented(t, button)

    @BUTTONS.route(ForgetAnswer, needs=Needs.NOTHING)
    async def _forget_tapped(self, t: Turn, button: ForgetAnswer) -> Outcome:
        """Delete everything: ask, delete or keep (a redelivered tap only repeats the question)."""
        if t.duplicate:
            return Outcome(await self._where_we_are(t))
        return await self._forget_answer(t, button.answer)

    @BUTTONS.route(OpenMenu)
    async def _menu_tapped(self, t: Turn, button: OpenMenu) -> Outcome:
        """A main-menu entry."""
        return await self._menu_choice(t, button.item)

    @BUTTONS.route(EditField)
    async def _edit_tapped(self, t: Turn, button: EditField) -> Outcome:
        """Change one field of the profile."""
        if button.field not in EDITABLE:
            return await self._stale_button(t)
        return Outcome(await self.registration.edit(t, button.field))

    @BUTTONS.route(DrivesPage, needs=Needs.REGISTRATION)
    async def _drives_page(self, t: Turn, button: DrivesPage) -> Outcome:
        """More upcoming drives."""
        return Outcome(await citizen.list_drives(t, self.tz, button.page))

    @BUTTONS.route(SignUp, needs=Needs.REGISTRATION)
    async def _sign_up(self, t: Turn, button: SignUp) -> Outcome:
        """Sign up for a drive."""
        options = self.check.options
        return Outcome(
            await citizen.sign_up(t, button.drive_id, self.tz, waitlist=False, options=options)
        )

    @BUTTONS.route(JoinWaitlist, needs=Needs.REGISTRATION)
    async def _join_waitlist(self, t: Turn, button: JoinWaitlist) -> Outcome:
        """Join a full drive's waiting list."""
        options = self.check.options
        return Outcome(
            await citizen.sign_up(t, button.drive_id, self.tz, waitlist=True, options=options)
        )

    @BUTTONS.route(CancelSignup, needs=Needs.REGISTRATION)
    async def _cancel_signup(self, t: Turn, button: CancelSignup) -> Outcome:
        """Cancel a sign-up or leave a waiting list."""
        return Outcome(await citizen.cancel(t, button.drive_id, self.tz))

    @BUTTONS.route(Unfollow, needs=Needs.REGISTRATION)
    async def _unfollow(self, t: Turn, button: Unfollow) -> Outcome:
        """Stop following a ward."""
        return Outcome(await citizen.unfollow(t, button))

    @BUTTONS.route(FollowMore, needs=Needs.REGISTRATION)
    async def _follow_more(self, t: Turn, button: FollowMore) -> Outcome:
        """Follow another ward."""
        return Outcome(await self.follow.begin(t))

    @BUTTONS.route(RemindMe, needs=Needs.REGISTRATION)
    async def _remind(self, t: Turn, button: RemindMe) -> Outcome:
        """A reminder on the day the person may give again."""
        return Outcome(await remind(t, button, self.check.options))

    @BUTTONS.route(Snooze, needs=Needs.REGISTRATION)
    async def _snooze(self, t: Turn, button: Snooze) -> Outcome:
        """ "Remind me again in a week / a month", under a reminder."""
        replies = reminder_settings.snooze(t, button.days)
        return Outcome(replies) if replies is not None else await self._stale_button(t)

    @BUTTONS.route(ReminderSwitch, needs=Needs.REGISTRATION)
    async def _reminder_switch(self, t: Turn, button: ReminderSwitch) -> Outcome:
        """Reminders off (under a reminder, or in /profile), or on again (in /profile)."""
        return Outcome(reminder_settings.switch(t, button.on, self.check.options))

    @BUTTONS.route(ReminderHour, needs=Needs.REGISTRATION)
    async def _reminder_hour(self, t: Turn, button: ReminderHour) -> Outcome:
        """The reminders' hour, chosen in /profile."""
        replies = reminder_settings.set_hour(t, button.hour)
        return Outcome(replies) if replies is not None else await self._stale_button(t)

    @BUTTONS.route(DonatedElsewhere, needs=Needs.REGISTRATION)
    async def _donated_elsewhere(self, t: Turn, button: DonatedElsewhere) -> Outcome:
        """Report a donation the bot did not see."""
        return Outcome(await self.elsewhere.begin(t))

    @BUTTONS.route(RotateCard, needs=Needs.REGISTRATION)
    async def _rotate_card(self, t: Turn, button: RotateCard) -> Outcome:
        """A new donor card."""
        return Outcome(await card.rotate(t, self.card_key, self.deep_link, self.check.options))

    @BUTTONS.route(StatsButton)
    async def _stats_tapped(self, t: Turn, button: StatsButton) -> Outcome:
        """A view of /stats."""
        return Outcome(await stats_view.show(t, self.tz, button))

    @BUTTONS.route(DigestSwitch)
    async def _digest_switch(self, t: Turn, button: DigestSwitch) -> Outcome:
        """The weekly digest of /stats turned on or off."""
        return Outcome(await digest.switch(t, button, self.tz))

    @BUTTONS.route(StatsExport)
    async def _stats_export(self, t: Turn, button: StatsExport) -> Outcome:
        """A /stats export as CSV or Excel (a large one is sent when ready)."""
        return Outcome(await exports.answer(t, self.tz, button, self.export_inline_rows))

    @BUTTONS.route(CanCome, needs=Needs.REGISTRATION)
    async def _can_come(self, t: Turn, button: CanCome) -> Outcome:
        """ "I can come", under an urgent call."""
        return Outcome(await self.urgent_responses.answer_can_come(t, button))

    @BUTTONS.route(ManageDrive)
    async def _manage_drive(self, t: Turn, button: ManageDrive) -> Outcome:
        """A /mydrives button (while a change is being typed, it belongs to an earlier question)."""
        if self._flow(t) is self.manage:
            return await self._stale_button(t)
        return Outcome(await self.manage.choice(t, button))

    @BUTTONS.route(SignupList)
    async def _signup_list(self, t: Turn, button: SignupList) -> Outcome:
        """A drive's sign-up list, or its CSV export."""
        return Outcome(await signups.show(t, button, self.tz))

    async def thank_after_drives(self) -> int:
        """The scheduler's pass: thank the donors of drives that ended (each thanked once);
        returns how many thank-yous were queued."""
        async with self.db.session() as session:
            drive_ids = await after_drive.drives_to_thank(session)
        queued = 0
        for drive_id in drive_ids:
            async with self.db.session() as session:
                done = await after_drive.thank_donors(
                    session,
                    drive_id,
                    tz=self.tz,
                    quiet_hours=self.quiet_hours,
                    options=self.check.options,
                )
                queued += done.thanked if done is not None else 0
        return queued

    # ------------------------------------------------------------ helpers

    async def _resume(self, t: Turn, greet: bool = False) -> list[Reply]:
        """Continue an open flow or an unfinished registration; else the menu."""
        flow = self._flow(t)
        if flow is not None:
            replies = await flow.prompt(t)
        elif not t.me.is_registered:
            replies = await self.registration.begin(t)
        else:
            hello = _("Hello {name}! What would you like to do?").format(name=t.me.full_name)
            return [main_menu(hello)]
        if greet:
            replies.insert(0, Reply(_("Welcome back! Let's continue where you left off.")))
        return replies

    async def _with_notices(self, t: Turn, out: Outcome) -> Outcome:
        """Queue the outcome's messages to other people in this turn's transaction."""
        for notice in out.notices:
            await notify.queue_to_chat(
                t.session,
                notice.recipient,
                notify.private_chat(notice.recipient),
                notice.message,
                kind=notice.kind,
                author=notice.author,
            )
        return out

    async def _where_we_are(self, t: Turn, quiet: bool = False) -> list[Reply]:
        """Repeat the open question (after a redelivered event or a stale button)."""
        flow = self._flow(t)
        if flow is not None:
            return await flow.prompt(t)
        return [] if quiet else [main_menu(_("What would you like to do?"))]

    async def _not_expected(self, t: Turn) -> Outcome:
        """A contact or location that answers no open question."""
        if t.donor is None:
            return Outcome([self._language_question(onboarding=True)])
        out = Outcome([Reply(_("Thanks, but I was not asking for that."))])
        return out.add(*await self._where_we_are(t))

    def _language_question(self, onboarding: bool, after: str | None = None) -> Reply:
        """Both languages side by side, whatever the current locale.

        Before consent nothing is stored, so a shared link rides along in the buttons."""
        # The greeting is for someone new; a registered person changing language is not greeted.
        greeting = (
            N_("Hello! I am the voluntary blood donation bot. Please choose your language.")
            if onboarding
            else N_("Choose your language.")
        )
        with use_locale("vi"):
            vi = _(greeting)
        with use_locale("en"):
            en = _(greeting)
        choices = [
            ChooseLanguage(code, after or "") if onboarding else SetLanguage(code)
            for code in SUPPORTED
        ]
        buttons = [[choice.button(language_label(choice.locale)) for choice in choices]]
        return Reply(f"{vi}\n\n{en}", buttons)

    async def _chose_language(self, t: Turn, locale: str, after: str | None = None) -> Outcome:
        """Before consent: show the consent text in that language. After: switch language."""
        set_locale(locale)
        if t.donor is None:
            link = shared_link(after)
            self._remember_consent_shown(t.sender, locale, link)
            return Outcome([self._consent_question(locale, link)])
        donor_store.update_donor(t.donor, locale=locale)
        done = _("Language set to English.") if locale == "en" else _("Language set to Vietnamese.")
        out = Outcome([Reply(done)], menu_locale=locale)
        return out.add(*await self._where_we_are(t, quiet=True))

    async def _consented(self, t: Turn, consent: ConsentAnswer) -> Outcome:
        """The explicit tap (or typed agreement): record the consent (version, time) and start
        registering."""
        locale, answer, after = consent.locale, consent.answer, consent.after
        link = shared_link(after)
        locale = locale if locale in SUPPORTED else self.default_locale
        set_locale(locale)
        if answer != "yes":
            if t.donor is not None:
                already = _(
                    "You have already agreed. To withdraw and delete your data, send /forget."
                )
                return Outcome([Reply(already)])
            nothing = _(
                "All right: nothing about you has been stored. Send /start if you change your "
                "mind; /help tells what the bot does."
            )
            return Outcome([Reply(nothing)])
        if t.donor is not None:
            return Outcome(await self._resume(t))
        t.donor = await donor_store.create_donor_with_consent(
            t.session,
            channel=t.sender.channel,
            external_id=t.sender.external_id,
            chat_id=t.sender.chat_id,
            locale=locale,
            consent_version=CONSENT_VERSION,
        )
        if t.sender.event_id is not None and t.donor.id is not None:
            await repeats.first_time(
                t.session, t.sender.channel, str(t.sender.event_id), t.donor.id
            )
        self._consent_shown.pop((t.sender.channel, t.sender.external_id), None)
        thanks = _(
            "Thank you! Registration takes about a minute. "
            "Send /back to go back one step, /cancel to stop."
        )
        out = Outcome([Reply(thanks)], menu_locale=locale)
        return out.add(*await self.registration.begin(t, after=link))

    async def _menu_choice(self, t: Turn, value: MenuItem) -> Outcome:
        """A main-menu button."""
        if value == "profile":
            if not t.me.is_registered:
                return Outcome(await self._resume(t))
            return Outcome([profile_card(t.me)])
        if value == "language":
            return Outcome([self._language_question(onboarding=False)])
        if value == "eligibility":
            return Outcome(await self.check.begin(t))
        if value in ("drives", "wards", "donations", "card") and not t.me.is_registered:
            return Outcome(await self._resume(t))
        if value == "drives":
            return Outcome(await citizen.list_drives(t, self.tz))
        if value == "wards":
            return Outcome(await citizen.wards_menu(t))
        if value == MenuItem.DONATIONS:
            return Outcome(await views.donations_view(t, self.check.options))
        if value == MenuItem.CARD:
            return Outcome(await card.card(t, self.card_key, self.deep_link, self.check.options))
        return Outcome([Reply(help_text(COMMANDS.help_lines()))])

    async def _after_registration(self, t: Turn, link: str) -> list[Reply]:
        """Where a shared link leads once the person is registered."""
        if invitation.is_invitation(link):
            return await walk_in_views.take_invitation(
                t, self.invitation_key, link, self.tz, self.check.options
            )
        match = DEEP_LINK.match(link)
        if match is None:
            return []
        return await citizen.show(t, int(match.group(1)), self.tz)

    def _set_reminder_day(self, t: Turn) -> None:
        """Registered, or the last donation changed: the reminder day from the rules."""
        schedule_reminder(t.me, t.today, self.check.options)

    async def _forget_answer(self, t: Turn, value: str) -> Outcome:
        """Ask, delete for real (and say truthfully what is kept, and why), or keep."""
        if value == "ask":
            return Outcome([_forget_question()])
        if value != "yes":
            return Outcome([Reply(_("Nothing was deleted."))])
        sender = t.sender
        if not await erasure.holds_anything(t.session, sender.channel, sender.external_id):
            return Outcome([Reply(_("We hold no data about you: there is nothing to delete."))])
        done = await erasure.forget_person(
            t.session, sender.channel, sender.external_id, sender.chat_id, self.pseudonym_key
        )
        t.donor, t.state = None, None
        lines = [
            _(
                "Everything the bot held about you has been deleted: your registration, your "
                "consent record, your sign-ups and the wards you followed."
            )
        ]
        if done.roles_ended:
            lines.append(_("Your roles in the bot (club leader or staff) have ended."))
        if done.records_pseudonymised:
            lines.append(
                _(
                    "The record of what you did in a role (drives announced, messages sent, "
                    "roles granted) stays in the audit log, because the steering committee must "
                    "be able to account for it; your Telegram id there has been replaced by a "
                    "code that cannot be traced back to you."
                )
            )
        if sender.external_id in self.admin_ids:
            lines.append(
                _(
                    "You are an administrator through the bot's settings (ADMIN_TELEGRAM_IDS); "
                    "only whoever runs the bot can remove that."
                )
            )
        lines.append(
            _("Thank you for your interest in giving blood; send /start to register again.")
        )
        return Outcome([Reply("\n\n".join(lines), keyboard=Keyboard.REMOVE)])

    # ------------------------------------------------------------ delivery and channels

    async def _ask_again_if_unseen(self, t: Turn) -> Outcome | None:
        """A reply of ours has not reached the person: never apply what they send now to a
        question they have not seen; drop the queued copy and ask the open question again."""
        if t.donor is None or t.donor.id is None:
            return None
        # Only this process queues replies (one process per bot token handles its updates), so
        # the people who may have one waiting are known here: no query for everyone else.
        if self._maybe_unseen is None:
            self._maybe_unseen = await undelivered.people_waiting(t.session)
        if t.donor.id not in self._maybe_unseen:
            return None
        if not await undelivered.has_unseen(t.session, t.donor.id):
            self._maybe_unseen.discard(t.donor.id)  # delivered meanwhile
            return None
        await undelivered.drop_unseen(t.session, t.donor.id)
        self._maybe_unseen.discard(t.donor.id)
        notice = Reply(_("Sorry, my last message did not reach you. Here it is again:"))
        return Outcome([notice, *await self._where_we_are(t)])

    async def deliver_later(self, sender: Sender, replies: list[Reply]) -> None:
        """The channel could not deliver these replies now: queue them in the outbox."""
        async with self._session() as session:
            donor = await donor_store.get_donor(session, sender.channel, sender.external_id)
            chat_id = donor.chat_id if donor is not None else sender.chat_id
            await undelivered.queue(
                session, donor.id if donor else None, chat_id, replies, channel=sender.channel
            )
        if donor is not None and donor.id is not None and self._maybe_unseen is not None:
            self._maybe_unseen.add(donor.id)

    async def locale_for(self, sender: Sender) -> str:
        """The language the person chose (for an apology written outside a turn)."""
        async with self._session() as session:
            donor = await donor_store.get_donor(session, sender.channel, sender.external_id)
        stored = donor.locale if donor is not None else None
        return pick_locale(stored, sender.language_code, self.default_locale)

    def private_chat_invite(self, language_code: str | None, username: str | None) -> str:
        """The one line the bot says in a group: come to a private chat (no data, no database)."""
        with use_locale(pick_locale(None, language_code, self.default_locale)):
            if username:
                return _(
                    "To keep your details private, I only talk in a private chat: "
                    "https://t.me/{username}"
                ).format(username=username)
            return _("To keep your details private, I only talk in a private chat with you.")

    async def edited(self, sender: Sender) -> Outcome:
        """An edited message is never taken as an answer: say so, and where we are."""
        async with self._turn(sender) as t:
            note = Reply(
                _(
                    "I do not read edited messages, so that change was not saved. Please send "
                    "your answer again as a new message."
                )
            )
            if t.donor is None or t.duplicate:
                return self._shown(t, Outcome([note]))
            return self._shown(t, Outcome([note, *await self._where_we_are(t, quiet=True)]))

    async def expire_idle_health_answers(self) -> int:
        """Delete the health answers of checks left idle for an hour (the scheduler's job)."""
        sensitive = [flow.name for flow in self.flows.values() if flow.holds_health_answers]
        async with self.db.session() as session:
            return await state_store.expire_states(
                session, sensitive, utcnow() - HEALTH_ANSWERS_TTL
            )

    async def forget_handled_events(self) -> int:
        """Delete the keys of events too old to be delivered again (the scheduler's job)."""
        async with self.db.session() as session:
            return await repeats.forget_old(session)

    async def sweep_reminders(
        self, now: datetime | None = None, batch: int = REMINDER_BATCH
    ) -> tuple[int, int]:
        """The scheduler's reminder pass: the "you can give again" reminders due (a batch per
        transaction until none is left or the pass's time is spent), then the drive reminders;
        returns how many of each were queued."""
        moment = now or utcnow()
        eligible = await sweep_all_due(
            self.db, moment, self.tz, self.quiet_hours, self.check.options, batch
        )
        async with self.db.session() as session:
            drives = await sweep_drive_reminders(session, moment, self.tz, self.quiet_hours)
        return eligible, drives.queued

    async def sweep_digests(self, now: datetime | None = None, batch: int = digest.BATCH) -> int:
        """The scheduler's digest pass: the weekly digests due, a batch per transaction until
        none is left (or the time budget is spent); returns how many were queued."""
        return await digest.sweep_all_due(
            self.db, now or utcnow(), self.tz, self.quiet_hours, self.admin_ids, batch
        )

    async def build_exports(self) -> int:
        """The scheduler's pass: build the /stats exports asked for (each sent once); returns
        how many jobs were handled."""
        return await export_jobs.run_pending(self.db, self.tz, self.admin_ids)

    def _idle(self, updated_at: datetime) -> bool:
        """Left alone longer than health answers may be kept."""
        return utcnow() - updated_at > HEALTH_ANSWERS_TTL

    # ------------------------------------------------------------ before consent

    async def _before_consent(self, t: Turn, text: str) -> Outcome:
        """Nothing is stored yet. A typed "đồng ý" answers the consent shown; other text gets
        its answer (if it is a question) and the question the person must answer."""
        shown = self._consent_seen(t.sender)
        word = _consent_word(text)
        if shown is not None:
            locale, after = shown
            if word is not None:
                return await self._consented(t, ConsentAnswer(locale, word, after or ""))
            set_locale(locale)
            answer = faq.match(text, locale)
            out = Outcome([Reply(answer.answer)] if answer else [])
            return out.add(self._consent_question(locale, after))
        if word == "yes":
            # Agreement typed with no consent text on record (e.g. after a restart): show it
            # again in the language of the words, to be agreed to as shown.
            locale = _agreement_locale(text) or get_locale()
            return await self._chose_language(t, locale)
        answer = faq.match(text, get_locale())
        first = answer.answer if answer else _("Hello! To begin, choose your language.")
        return Outcome([Reply(first), self._language_question(onboarding=True)])

    def _remember_consent_shown(self, sender: Sender, locale: str, after: str | None) -> None:
        """Keep, in memory only, which consent text this account was just shown."""
        key = (sender.channel, sender.external_id)
        self._consent_shown.pop(key, None)
        self._consent_shown[key] = (locale, after, clock.monotonic())
        while len(self._consent_shown) > CONSENT_MEMORY:
            self._consent_shown.popitem(last=False)

    def _consent_seen(self, sender: Sender) -> tuple[str, str | None] | None:
        """The language and link of the consent text this account was shown, if recent."""
        seen = self._consent_shown.get((sender.channel, sender.external_id))
        if seen is None or clock.monotonic() - seen[2] > CONSENT_MEMORY_SECONDS:
            return None
        return seen[0], seen[1]

    def _consent_question(self, locale: str, after: str | None) -> Reply:
        """The consent text with its two buttons (a shared link rides along in the data)."""
        link = shared_link(after) or ""
        buttons = [
            [ConsentAnswer(locale, "yes", link).button(_("✅ I agree"))],
            [ConsentAnswer(locale, "no").button(_("I do not agree"))],
        ]
        return Reply(consent_text(self.organization), buttons)


def _choice_key(label: str) -> str:
    """A button label or a typed answer, compared without case, accents, emoji or punctuation
    (but "A+" and "A-" stay apart)."""
    signs = label.replace("+", " plus ").replace("−", " minus ").replace("-", " minus ")
    return fold(signs)


def _typed_choice(text: str, replies: list[Reply]) -> str | None:
    """The button a typed answer names: by its label, or a typed yes / no; None if unclear."""
    key = _choice_key(text)
    if not key:
        return None
    offered = [b for reply in replies for row in reply.buttons for b in row]
    by_label = {b.data for b in offered if _choice_key(b.label) == key}
    if len(by_label) == 1:
        return by_label.pop()
    for words, ending in ((YES_WORDS, "yes"), (NO_WORDS, "no")):
        if key in words:
            meant = {
                b.data
                for b in offered
                if b.data.split(":")[-1] == ending or _choice_key(b.label) in words
            }
            if len(meant) == 1:
                return meant.pop()
    return None


def _consent_word(text: str) -> str | None:
    """ "yes" for a typed agreement, "no" for a typed refusal, None for anything else."""
    key = fold(text)
    if key in AGREE_VI or key in AGREE_EN or key in AGREE_ANY:
        return "yes"
    if key in DISAGREE:
        return "no"
    return None


def _agreement_locale(text: str) -> str | None:
    """The language an agreement was typed in ("đồng ý" → vi, "I agree" → en)."""
    key = fold(text)
    if key in AGREE_VI:
        return "vi"
    if key in AGREE_EN:
        return "en"
    return None


def _expired_notice() -> Reply:
    """The eligibility check closed itself after an hour without an answer."""
    text = _(
        "Your eligibility check was closed after an hour without an answer, and the health "
        "answers you gave in it were deleted. You can start it again at any time."
    )
    return Reply(text, [[OpenMenu(MenuItem.ELIGIBILITY).button(_("✅ Can I give blood?"))]])


def _answer_question(text: str, donor: Donor, today: date, rules: RuleOptions | None) -> Reply:
    """A free-text question: the knowledge base's answer (with what the bot knows of the person
    put first), or an honest "I don't know"."""
    registered = donor.is_registered
    answer = faq.match(text, get_locale())
    check = [OpenMenu(MenuItem.ELIGIBILITY).button(_("✅ Can I give blood?"))]
    if answer is None:
        sorry = _(
            "Sorry, I do not have a good answer to that. I can answer questions about giving "
            "blood (who may give, waiting times, preparing, benefits), check whether you can "
            "give now, or show drives near you."
        )
        return main_menu(sorry) if registered else Reply(sorry, [check])
    buttons = (
        [check, [OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))]]
        if registered
        else [check]
    )
    body = answer.answer
    mine = personal_answer(answer.entry.id, text, donor, today, rules)
    if mine is not None:
        body = f"{mine}\n\n{body}"
    return Reply(body, buttons)


def _question_in_a_flow(text: str) -> Reply:
    """The answer to a question typed in the middle of a flow (the step follows it)."""
    answer = faq.match(text, get_locale())
    if answer is not None:
        return Reply(answer.answer)
    return Reply(
        _(
            "That looks like a question, and I do not have a good answer to it. You can ask "
            "the drive's staff; meanwhile, here is where we were:"
        )
    )


def _forget_question() -> Reply:
    """Deleting is for good: ask first."""
    buttons = [
        [ForgetAnswer("yes").button(_("🗑 Yes, delete everything"))],
        [ForgetAnswer("no").button(_("No, keep my data"))],
    ]
    text = _(
        "This deletes your registration, your consent record and everything the bot knows "
        "about you, for good. Are you sure?"
    )
    return Reply(text, buttons)


def _is_stop_word(text: str) -> bool:
    """The words that mean /stop, in either language."""
    normal = " ".join(unicodedata.normalize("NFC", text).lower().split()).strip(" .!")
    return normal in STOP_WORDS
