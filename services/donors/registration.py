"""The registration flow: ask each question in turn, store each answer, confirm a summary.

The questions and their checks are in services/donors/questions.py; the table below says which
question reads what. Each accepted answer is written to the donor row in the same transaction as
the move to the next step. A correction started from the summary or the profile comes back there
("return_to").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from models import Donor
from models.conversation import FlowName
from models.types import utcnow
from services.conversation.dialog import Keyboard, Reply
from services.conversation.flow import Turn
from services.conversation.menus import main_menu
from services.conversation.steps import (
    Accept,
    Draft,
    Move,
    Read,
    Save,
    Step,
    StepFlow,
    done,
    go,
    in_a_thread,
    retry,
    stay,
)
from services.core.i18n import _
from services.donors import donor_store, follows, questions
from services.donors.profile import profile_card
from services.donors.questions import (
    Answer,
    BloodGroupButton,
    ConfirmButton,
    DonationKindButton,
    SexButton,
    WardButton,
)

AfterRegistration = Callable[[Turn, str], Awaitable[list[Reply]]]


class RegistrationDraft(Draft):
    """What the flow keeps besides the donor row (the answers themselves are saved there)."""

    after: str | None = None  # the shared link the person came with: shown once registered
    return_to: str | None = None  # "summary" or "profile": a correction comes back there
    province: str | None = None  # the ward step, once a province alone was typed
    old_district: str | None = None  # the ward step, once an old district alone was typed


def _read(answer: Answer | None, draft: RegistrationDraft) -> Read | None:
    """A question's answer as a move: save it, say what is wrong, or show choices."""
    if answer is None:
        return None
    if answer.error is not None:
        return retry(answer.error)
    if answer.fields is None:
        for name, value in (answer.data or {}).items():
            setattr(draft, name, value)
        return stay(*answer.replies)
    return Accept(answer)


def _text(read: Callable[[str, Turn, RegistrationDraft], Answer]) -> Callable[..., Read]:
    """A text reader over a question's check."""

    def reader(t: Turn, draft: RegistrationDraft, text: str) -> Read:
        move = _read(read(text, t, draft), draft)
        assert move is not None
        return move

    return reader


def _tap(read: Callable[..., Answer | None]) -> Callable[..., Read | None]:
    """A button reader over a question's check."""
    return lambda t, draft, tapped: _read(read(tapped), draft)


def _ask(question: Callable[[], Reply]) -> Callable[[Turn, RegistrationDraft], list[Reply]]:
    """A prompt that needs nothing of the person."""
    return lambda t, draft: [question()]


def _saved_ward(me: Donor) -> str:
    return _("Saved: {ward}").format(ward=questions.ward_label(me.province_code, me.ward_code))


def _saved_phone(me: Donor) -> str:
    return _("Saved: {phone}").format(phone=questions.phone_label(me.phone_e164))


class RegistrationFlow(StepFlow[RegistrationDraft]):
    """Name, birth date, sex, phone, ward, blood group, last donation; then the summary."""

    name = FlowName.REGISTER
    draft = RegistrationDraft

    def __init__(
        self,
        after_registration: AfterRegistration | None = None,
        last_donation_known: Callable[[Turn], None] | None = None,
    ) -> None:
        self.after_registration = after_registration
        # Called when a registered donor's last donation is known or changes: the router sets
        # their reminder day (the eligibility rules stand to the right of donors).
        self.last_donation_known = last_donation_known
        save = self._saving()
        super().__init__(
            Step(
                "name",
                _ask(questions.ask_name),
                text=_text(lambda s, t, d: questions.answer_name(s)),
                save=save,
            ),
            Step(
                "dob",
                _ask(questions.ask_birth_date),
                text=_text(lambda s, t, d: questions.answer_birth_date(s, t.today)),
                save=save,
            ),
            Step(
                "sex",
                _ask(questions.ask_sex),
                text=_text(lambda s, t, d: questions.answer_sex(s)),
                taps=(SexButton,),
                tap=_tap(questions.answer_sex_button),
                save=save,
            ),
            Step(
                "phone",
                _ask(questions.ask_phone),
                text=_text(lambda s, t, d: questions.answer_phone(s)),
                contact=lambda t, d, phone, own: _read(questions.answer_contact(phone, own), d),
                save=self._saving(_saved_phone),
            ),
            Step(
                "ward",
                lambda t, d: [questions.ask_ward(d.province)],
                text=in_a_thread(
                    _text(lambda s, t, d: questions.answer_ward_text(s, d.province, d.old_district))
                ),
                taps=(WardButton,),
                tap=_tap(questions.answer_ward_button),
                location=lambda t, d, lat, lon: _read(questions.answer_location(lat, lon), d),
                save=self._saving(_saved_ward),
                scratch=("province", "old_district"),
            ),
            Step(
                "blood_group",
                _ask(questions.ask_blood_group),
                text=_text(lambda s, t, d: questions.answer_blood_group(s)),
                taps=(BloodGroupButton,),
                tap=_tap(questions.answer_blood_group_button),
                save=save,
            ),
            Step(
                "donation_kind",
                _ask(questions.ask_donation_kind),
                text=_text(lambda s, t, d: questions.answer_donation_kind(s)),
                taps=(DonationKindButton,),
                tap=_tap(questions.answer_donation_kind_button),
                save=save,
            ),
            Step(
                "donation_date",
                _ask(questions.ask_donation_date),
                text=_text(lambda s, t, d: questions.answer_donation_date(s, t.me, t.today)),
                taps=(DonationKindButton,),
                tap=_tap(questions.answer_donation_date_button),
                save=save,
            ),
            Step(
                questions.CONFIRM,
                lambda t, d: [questions.summary(t.me)],
                taps=(ConfirmButton,),
                tap=lambda t, d, tapped: Accept(tapped),
                save=self._confirm,
                use_buttons=lambda: _(
                    "Please use the buttons above to confirm or correct your details."
                ),
            ),
        )

    def path(self, t: Turn, draft: RegistrationDraft) -> list[str]:
        """The questions in order (the donation date only for someone who gave)."""
        return questions.path(t.me)

    def resumed_history(self, t: Turn, draft: RegistrationDraft, step: str) -> list[str]:
        """A correction goes back where it started; a registration to the question before."""
        return [] if draft.return_to else super().resumed_history(t, draft, step)

    async def begin(self, t: Turn, after: str | None = None) -> list[Reply]:
        """Start (or resume) at the first question not yet answered.

        `after` is where to go once registered (a drive from a shared link)."""
        draft = RegistrationDraft(after=after or self.load(t).after)
        return await self.start(t, questions.first_missing_step(t.me), draft)

    async def edit(self, t: Turn, field: str) -> list[Reply]:
        """Ask one field again, then come back to the summary or the profile."""
        return_to = "profile" if t.me.is_registered else "summary"
        draft = RegistrationDraft(after=self.load(t).after, return_to=return_to)
        return await self.start(t, questions.EDITABLE[field], draft, history=[])

    async def before_first(self, t: Turn, draft: RegistrationDraft) -> list[Reply]:
        """From a correction, back to where it started; else this is the first question."""
        if draft.return_to:
            return await self._finish_edit(t)
        return await super().before_first(t, draft)

    async def on_cancel(self, t: Turn) -> str:
        """Close the flow; saved answers stay."""
        await t.close()
        if t.me.is_registered:
            return _("Cancelled. Your profile is as it was before this change.")
        return _(
            "Registration paused. What you entered so far is kept: send /start to "
            "continue, or /forget to delete it."
        )

    def _saving(self, saved: Callable[[Donor], str] | None = None) -> Save[RegistrationDraft]:
        """A question's save: the answer goes to the donor row, then on (or back to where a
        correction started). `saved` says what was stored, when the person's keyboard was used."""

        async def save(t: Turn, draft: RegistrationDraft, answer: Answer) -> Move:
            assert t.state is not None and answer.fields is not None
            step = t.state.step
            donor_store.update_donor(t.me, **answer.fields)
            donation = {"last_donation_kind", "last_donation_date"} & set(answer.fields)
            if donation and t.me.is_registered and self.last_donation_known is not None:
                self.last_donation_known(t)
            if "ward_code" in answer.fields and t.me.is_registered:
                # A registered donor who moves follows their new ward too (old ones stay).
                await follows.follow(
                    t.session, t.me.id or 0, t.me.province_code or "", t.me.ward_code or ""
                )
            replies = [Reply(note) for note in answer.notes]
            if saved is not None:
                replies.insert(0, Reply(saved(t.me), keyboard=Keyboard.REMOVE))
            following = self.following(t, draft, step)
            asks_donation_date = step == "donation_kind" and following == "donation_date"
            if draft.return_to and not asks_donation_date:
                return done(*replies, *await self._finish_edit(t))
            return go(following, *replies, remember=not draft.return_to)

        return save

    async def _finish_edit(self, t: Turn) -> list[Reply]:
        """After a correction: back to the profile card, or on with the registration."""
        if t.me.is_registered:
            await t.close()
            return [profile_card(t.me, _("Saved. Your profile:"))]
        return await self.begin(t)

    async def _confirm(self, t: Turn, draft: RegistrationDraft, tapped: ConfirmButton) -> Move:
        """The summary was confirmed: the person is registered."""
        if questions.first_missing_step(t.me) != questions.CONFIRM:
            return done(*await self.begin(t))
        donor_store.update_donor(t.me, registered_at=utcnow())
        if self.last_donation_known is not None:
            self.last_donation_known(t)
        await follows.follow(t.session, t.me.id or 0, t.me.province_code or "", t.me.ward_code or "")
        await t.close()
        text = _(
            "Thank you, {name}! You are registered as a volunteer blood donor. "
            "You can see or change your details at any time with /profile."
        ).format(name=t.me.full_name)
        replies = [main_menu(text)]
        if self.after_registration is not None and draft.after:
            replies += await self.after_registration(t, draft.after)
        return done(*replies)
