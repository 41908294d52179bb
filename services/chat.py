"""The conversation router: what the bot answers to each command, text, button, contact, location.

Channel-neutral: Telegram handlers (and the console, and later Zalo) turn their input into these
calls and render the `Outcome`. Every call runs in one database transaction, so an answer and the
move to the next step are stored together. Multi-step conversations live in services/flows/.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from models.database import Database
from models.types import utcnow
from services import admin, drive_chat, faq, outbox, roles
from services import donors as crud
from services.consent import CONSENT_VERSION, consent_text
from services.dialog import Button, Keyboard, Outcome, Reply, Sender
from services.donor_eligibility import may_give_now
from services.eligibility import RuleOptions
from services.flows.base import Flow, Turn
from services.flows.broadcast import BROADCAST, URGENT, BroadcastFlow
from services.flows.eligibility import EligibilityFlow, remind
from services.flows.follow import FollowFlow
from services.flows.manage_drive import ManageDriveFlow
from services.flows.new_drive import NewDriveFlow
from services.flows.registration import RegistrationFlow
from services.i18n import N_, SUPPORTED, _, get_locale, pick_locale, set_locale, use_locale
from services.labels import language_label
from services.menus import help_text, main_menu, profile_card
from services.registration import EDITABLE

DEEP_LINK = re.compile(r"^drive_(\d{1,9})$")
CITIZEN_BUTTONS = ("drives", "signup", "waitlist", "unsign", "unfollow", "follow", "remind")
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
    ):
        self.db = db
        self.organization = organization
        self.tz = tz
        self.default_locale = default_locale
        self.admin_ids = admin_ids
        # How a shared link to a start payload looks; the channel sets it once it knows its name.
        self.deep_link: Callable[[str], str] = lambda payload: f"/start {payload}"
        self.registration = RegistrationFlow(after_registration=self._after_registration)
        self.new_drive = NewDriveFlow(tz, admin_ids, quiet_hours, lambda p: self.deep_link(p))
        self.manage = ManageDriveFlow(tz, admin_ids)
        self.follow = FollowFlow()
        self.check = EligibilityFlow(rule_options)
        self.broadcast = BroadcastFlow(BROADCAST, tz, admin_ids, quiet_hours, may_give_now)
        self.urgent = BroadcastFlow(URGENT, tz, admin_ids, quiet_hours, may_give_now)
        flows: tuple[Flow, ...] = (
            self.registration,
            self.new_drive,
            self.manage,
            self.follow,
            self.check,
            self.broadcast,
            self.urgent,
        )
        self.flows: dict[str, Flow] = {flow.name: flow for flow in flows}

    def today(self) -> date:
        """Today in the configured time zone."""
        return datetime.now(self.tz).date()

    @asynccontextmanager
    async def _turn(self, sender: Sender) -> AsyncIterator[Turn]:
        """Load the person, set their locale, and note the event id (for redelivered events)."""
        async with self.db.session() as session:
            donor = await crud.get_donor(session, sender.channel, sender.external_id)
            state = await crud.get_state(session, donor.id) if donor and donor.id else None
            stored_locale = donor.locale if donor else None
            set_locale(pick_locale(stored_locale, sender.language_code, self.default_locale))
            duplicate = False
            if donor is not None and sender.event_id is not None:
                last = donor.last_event_id
                duplicate = last is not None and sender.event_id <= last
                if not duplicate:
                    donor.last_event_id = sender.event_id
                    donor.chat_id = sender.chat_id
            yield Turn(session, sender, donor, state, duplicate, self.today())

    def _flow(self, t: Turn) -> Flow | None:
        """The flow the person is in, if any."""
        return self.flows.get(t.state.flow) if t.state is not None else None

    # ------------------------------------------------------------ commands

    async def start(self, sender: Sender, payload: str | None = None) -> Outcome:
        """/start: choose a language and consent, or resume, or show the menu."""
        link = payload if payload and DEEP_LINK.match(payload) else None
        async with self._turn(sender) as t:
            if t.donor is None:
                return Outcome([self._language_question(onboarding=True, after=link)])
            if t.duplicate:
                return Outcome(await self._where_we_are(t))
            out = Outcome()
            if t.donor.is_stopped:
                crud.update_donor(t.donor, stopped_at=None)
                out.add(Reply(_("Welcome back! Messages from the bot are on again.")))
            if link and t.donor.is_registered:
                return out.add(*await self._after_registration(t, link))
            if link and not t.donor.is_registered:
                return out.add(*await self.registration.begin(t, after=link))
            return out.add(*await self._resume(t, greet=True))

    async def command(self, sender: Sender, name: str, args: list[str]) -> Outcome:
        """The other commands: drives, wards, leader and staff tools, roles."""
        async with self._turn(sender) as t:
            if name in admin.COMMANDS:
                actor = await roles.load_actor(
                    t.session, sender.channel, sender.external_id, self.admin_ids
                )
                return Outcome(await admin.COMMANDS[name](t.session, actor, args))
            if t.donor is None:
                return Outcome([Reply(_("Please send /start first."))])
            if t.duplicate:
                return Outcome(await self._where_we_are(t))
            if name in ("drives", "wards") and not t.donor.is_registered:
                return Outcome([Reply(_("Please finish registering first: send /start."))])
            if name == "eligibility":
                return Outcome(await self.check.begin(t))
            if name == "drives":
                return Outcome(await drive_chat.list_drives(t, self.tz))
            if name == "wards":
                return Outcome(await drive_chat.wards_menu(t))
            if name == "newdrive":
                return Outcome(await self.new_drive.begin(t))
            if name == "mydrives":
                return Outcome(await self.manage.overview(t))
            if name == "broadcast":
                return Outcome(await self.broadcast.begin(t))
            if name == "urgent":
                return Outcome(await self.urgent.begin(t))
            return Outcome(
                [main_menu(_("Sorry, I did not understand that. Here is what I can do:"))]
            )

    async def help(self, sender: Sender) -> Outcome:
        """/help: what the bot does and its commands."""
        async with self._turn(sender) as t:
            text = help_text()
            if t.donor is None:
                text += "\n\n" + _("Send /start to register.")
            return Outcome([Reply(text)])

    async def profile(self, sender: Sender) -> Outcome:
        """/profile: show every field with buttons to change it."""
        async with self._turn(sender) as t:
            if t.donor is None:
                return Outcome([Reply(_("We hold no data about you. Send /start to register."))])
            if not t.donor.is_registered:
                out = Outcome([Reply(_("You have not finished registering yet. Let's continue:"))])
                return out.add(*await self._resume(t))
            if t.state is not None:
                await t.close()
            return Outcome([profile_card(t.donor)])

    async def language(self, sender: Sender) -> Outcome:
        """/language: offer both languages."""
        async with self._turn(sender) as t:
            return Outcome([self._language_question(onboarding=t.donor is None)])

    async def stop(self, sender: Sender) -> Outcome:
        """/stop (or "dừng"): no more messages until the next /start."""
        async with self._turn(sender) as t:
            if t.donor is None:
                return Outcome([Reply(_("We hold no data about you and will not message you."))])
            if not t.donor.is_stopped:
                crud.update_donor(t.donor, stopped_at=utcnow())
                await outbox.cancel_pending_for(t.session, t.donor.id or 0)
            text = _(
                "Done: the bot will not send you any messages until you send /start "
                "again. Your registration is kept; /forget deletes it."
            )
            return Outcome([Reply(text, keyboard=Keyboard.REMOVE)])

    async def forget(self, sender: Sender) -> Outcome:
        """/forget: ask for confirmation before deleting everything."""
        async with self._turn(sender) as t:
            if t.donor is None:
                return Outcome([Reply(_("We hold no data about you: there is nothing to delete."))])
            return Outcome([_forget_question()])

    async def back(self, sender: Sender) -> Outcome:
        """/back: one step back in the open flow."""
        async with self._turn(sender) as t:
            flow = self._flow(t)
            if flow is None or t.duplicate:
                return Outcome(
                    [Reply(_("There is no question to go back to. /help shows what I can do."))]
                )
            return Outcome(await flow.on_back(t))

    async def cancel(self, sender: Sender) -> Outcome:
        """/cancel: leave the open flow, keeping what was already saved."""
        async with self._turn(sender) as t:
            flow = self._flow(t)
            if flow is None:
                return Outcome([Reply(_("There is nothing to cancel."), keyboard=Keyboard.REMOVE)])
            return Outcome([Reply(await flow.on_cancel(t), keyboard=Keyboard.REMOVE)])

    # ------------------------------------------------------------ free input

    async def text(self, sender: Sender, text: str) -> Outcome:
        """A typed message: the answer to the open question, a stop word, or a question."""
        if _is_stop_word(text):
            return await self.stop(sender)
        async with self._turn(sender) as t:
            if t.donor is None:
                # A question is answered before consent too: nothing about the person is stored.
                answer = faq.match(text, get_locale())
                first = answer.answer if answer else _("Hello! To begin, choose your language.")
                return Outcome([Reply(first), self._language_question(onboarding=True)])
            if t.duplicate:
                return Outcome(await self._where_we_are(t))
            flow = self._flow(t)
            if flow is not None:
                return Outcome(await flow.on_text(t, text))
            return Outcome([_answer_question(text, t.me.is_registered)])

    async def contact(self, sender: Sender, phone_number: str, is_own: bool) -> Outcome:
        """A shared contact card."""
        async with self._turn(sender) as t:
            flow = self._flow(t)
            if flow is not None and not t.duplicate:
                replies = await flow.on_contact(t, phone_number, is_own)
                if replies is not None:
                    return Outcome(replies)
            return await self._not_expected(t)

    async def location(self, sender: Sender, latitude: float, longitude: float) -> Outcome:
        """A shared location."""
        async with self._turn(sender) as t:
            flow = self._flow(t)
            if flow is not None and not t.duplicate:
                replies = await flow.on_location(t, latitude, longitude)
                if replies is not None:
                    return Outcome(replies)
            return await self._not_expected(t)

    async def unsupported(self, sender: Sender) -> Outcome:
        """A sticker, photo, voice note…: say what works, and repeat the open question."""
        async with self._turn(sender) as t:
            out = Outcome(
                [Reply(_("I can only read text, buttons, a shared contact or a location."))]
            )
            if t.donor is None:
                return out.add(self._language_question(onboarding=True))
            return out.add(*await self._where_we_are(t))

    async def choice(self, sender: Sender, data: str) -> Outcome:
        """A tapped button."""
        kind, _sep, value = data.partition(":")
        async with self._turn(sender) as t:
            locale, _sep2, after = value.partition(":")
            if kind in ("lang", "setlang") and locale in SUPPORTED:
                return await self._chose_language(t, locale, after or None)
            if kind == "consent":
                return await self._consented(t, value)
            if t.donor is None:
                out = Outcome([Reply(_("Hello! To begin, choose your language."))])
                return out.add(self._language_question(onboarding=True))
            if t.duplicate:
                return Outcome(await self._where_we_are(t))
            if kind == "forget":
                return await self._forget_answer(t, value)
            if kind == "menu":
                return await self._menu_choice(t, value)
            if kind == "edit" and value in EDITABLE:
                return Outcome(await self.registration.edit(t, value))
            if kind in CITIZEN_BUTTONS and not t.donor.is_registered:
                return Outcome([Reply(_("Please finish registering first: send /start."))])
            if kind == "drives" and value.isdigit():
                return Outcome(await drive_chat.list_drives(t, self.tz, int(value)))
            if kind in ("signup", "waitlist") and value.isdigit():
                return Outcome(
                    await drive_chat.sign_up(t, int(value), self.tz, waitlist=kind == "waitlist")
                )
            if kind == "unsign" and value.isdigit():
                return Outcome(await drive_chat.cancel(t, int(value), self.tz))
            if kind == "unfollow":
                province, _sep2, ward = value.partition(":")
                return Outcome(await drive_chat.unfollow(t, province, ward))
            if kind == "follow":
                return Outcome(await self.follow.begin(t))
            if kind == "remind":
                return Outcome(await remind(t, value, self.tz))
            if kind == "md" and self._flow(t) is not self.manage:
                return Outcome(await self.manage.choice(t, data))
            flow = self._flow(t)
            if flow is not None and kind in flow.prefixes:
                replies = await flow.on_choice(t, data)
                if replies is not None:
                    return Outcome(replies)
            out = Outcome(toast=_("That button belongs to an earlier question."))
            return out.add(*await self._where_we_are(t, quiet=True))

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
        prefix = "lang" if onboarding else "setlang"
        suffix = f":{after}" if after and onboarding else ""
        greeting = N_("Hello! I am the voluntary blood donation bot. Please choose your language.")
        with use_locale("vi"):
            vi = _(greeting)
        with use_locale("en"):
            en = _(greeting)
        buttons = [[Button(language_label(code), f"{prefix}:{code}{suffix}") for code in SUPPORTED]]
        return Reply(f"{vi}\n\n{en}", buttons)

    async def _chose_language(self, t: Turn, locale: str, after: str | None = None) -> Outcome:
        """Before consent: show the consent text in that language. After: switch language."""
        set_locale(locale)
        if t.donor is None:
            suffix = f":{after}" if after and DEEP_LINK.match(after) else ""
            buttons = [
                [Button(_("✅ I agree"), f"consent:{locale}:yes{suffix}")],
                [Button(_("I do not agree"), f"consent:{locale}:no")],
            ]
            return Outcome([Reply(consent_text(self.organization), buttons)])
        crud.update_donor(t.donor, locale=locale)
        done = _("Language set to English.") if locale == "en" else _("Language set to Vietnamese.")
        out = Outcome([Reply(done)], menu_locale=locale)
        return out.add(*await self._where_we_are(t, quiet=True))

    async def _consented(self, t: Turn, value: str) -> Outcome:
        """The explicit tap: record the consent (version, time) and start registering."""
        locale, _sep, rest = value.partition(":")
        answer, _sep2, after = rest.partition(":")
        link = after if DEEP_LINK.match(after) else None
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
        t.donor = await crud.create_donor_with_consent(
            t.session,
            channel=t.sender.channel,
            external_id=t.sender.external_id,
            chat_id=t.sender.chat_id,
            locale=locale,
            consent_version=CONSENT_VERSION,
        )
        t.donor.last_event_id = t.sender.event_id
        thanks = _(
            "Thank you! Registration takes about a minute. "
            "Send /back to go back one step, /cancel to stop."
        )
        out = Outcome([Reply(thanks)], menu_locale=locale)
        return out.add(*await self.registration.begin(t, after=link))

    async def _menu_choice(self, t: Turn, value: str) -> Outcome:
        """A main-menu button."""
        if value == "profile":
            if not t.me.is_registered:
                return Outcome(await self._resume(t))
            return Outcome([profile_card(t.me)])
        if value == "language":
            return Outcome([self._language_question(onboarding=False)])
        if value == "eligibility":
            return Outcome(await self.check.begin(t))
        if value in ("drives", "wards") and not t.me.is_registered:
            return Outcome(await self._resume(t))
        if value == "drives":
            return Outcome(await drive_chat.list_drives(t, self.tz))
        if value == "wards":
            return Outcome(await drive_chat.wards_menu(t))
        return Outcome([Reply(help_text())])

    async def _after_registration(self, t: Turn, link: str) -> list[Reply]:
        """Where a shared link leads once the person is registered."""
        match = DEEP_LINK.match(link)
        if match is None:
            return []
        return await drive_chat.show(t, int(match.group(1)), self.tz)

    async def _forget_answer(self, t: Turn, value: str) -> Outcome:
        """Ask, delete for real, or keep."""
        if value == "ask":
            return Outcome([_forget_question()])
        if value != "yes":
            return Outcome([Reply(_("Nothing was deleted."))])
        await crud.delete_donor(t.session, t.me.id or 0)
        gone = _(
            "Everything the bot held about you has been deleted. Thank you for your "
            "interest in giving blood; send /start if you want to register again."
        )
        return Outcome([Reply(gone, keyboard=Keyboard.REMOVE)])


def _answer_question(text: str, registered: bool) -> Reply:
    """A free-text question: the knowledge base's answer, or an honest "I don't know"."""
    answer = faq.match(text, get_locale())
    check = [Button(_("✅ Can I give blood?"), "menu:eligibility")]
    if answer is None:
        sorry = _(
            "Sorry, I do not have a good answer to that. I can answer questions about giving "
            "blood (who may give, waiting times, preparing, benefits), check whether you can "
            "give now, or show drives near you."
        )
        return main_menu(sorry) if registered else Reply(sorry, [check])
    buttons = [check, [Button(_("🩸 Drives near me"), "menu:drives")]] if registered else [check]
    return Reply(answer.answer, buttons)


def _forget_question() -> Reply:
    """Deleting is for good: ask first."""
    buttons = [
        [Button(_("🗑 Yes, delete everything"), "forget:yes")],
        [Button(_("No, keep my data"), "forget:no")],
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
