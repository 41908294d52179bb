"""The registration flow: ask each question in turn, store each answer, confirm a summary.

The questions and checks are in services/registration.py; this module moves between them.
A correction started from the summary or the profile comes back there ("return_to").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from models.conversation import FlowName
from models.types import utcnow
from services.conversation.dialog import Keyboard, Reply
from services.conversation.flow import Flow, Turn
from services.conversation.menus import main_menu
from services.core.i18n import _
from services.donors import donor_store, follows, questions
from services.donors.profile import profile_card

AfterRegistration = Callable[[Turn, str], Awaitable[list[Reply]]]


def _carry(t: Turn, data: dict[str, Any]) -> dict[str, Any]:
    """Keep the deep link the person arrived with across every step."""
    after = t.data.get("after")
    return {**data, "after": after} if after and "after" not in data else data


class RegistrationFlow(Flow):
    """Name, birth date, sex, phone, ward, blood group, last donation; then the summary."""

    name = FlowName.REGISTER
    prefixes = ("sex", "bg", "kind", "ward", "confirm")

    def __init__(self, after_registration: AfterRegistration | None = None) -> None:
        self.after_registration = after_registration

    async def begin(self, t: Turn, after: str | None = None) -> list[Reply]:
        """Start (or resume) at the first question not yet answered.

        `after` is where to go once registered (a drive from a shared link)."""
        step = questions.first_missing_step(t.me)
        data = _carry(t, {"after": after} if after else {})
        await t.goto(FlowName.REGISTER, step, data)
        return questions.prompt(step, t.me, data)

    async def edit(self, t: Turn, field: str) -> list[Reply]:
        """Ask one field again, then come back to the summary or the profile."""
        step = questions.EDITABLE[field]
        return_to = "profile" if t.me.is_registered else "summary"
        await t.goto(FlowName.REGISTER, step, _carry(t, {"return_to": return_to}))
        return questions.prompt(step, t.me, {})

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open question again."""
        assert t.state is not None
        return questions.prompt(t.state.step, t.me, t.state.data)

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer."""
        assert t.state is not None
        return await self._apply(t, questions.answer_text(t.state.step, text, t.me, t.data, t.today))

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """A tapped answer, or the summary's confirmation."""
        assert t.state is not None
        if data == "confirm" and t.state.step == questions.CONFIRM:
            return await self._confirm(t)
        answer = questions.answer_choice(t.state.step, data)
        return None if answer is None else await self._apply(t, answer)

    async def on_contact(self, t: Turn, phone: str, is_own: bool) -> list[Reply] | None:
        """The phone step's share button."""
        assert t.state is not None
        answer = questions.answer_contact(t.state.step, phone, is_own)
        return None if answer is None else await self._apply(t, answer)

    async def on_location(self, t: Turn, lat: float, lon: float) -> list[Reply] | None:
        """The ward step's share button."""
        assert t.state is not None
        answer = questions.answer_location(t.state.step, lat, lon)
        return None if answer is None else await self._apply(t, answer)

    async def on_back(self, t: Turn) -> list[Reply]:
        """One question back; from a correction, back to where it started."""
        assert t.state is not None
        if t.data.get("return_to"):
            return await self._finish_edit(t)
        previous = questions.previous_step(t.state.step, t.me)
        if previous is None:
            return [Reply(_("This is the first question.")), *await self.prompt(t)]
        await t.goto(FlowName.REGISTER, previous, _carry(t, {}))
        return questions.prompt(previous, t.me, {})

    async def on_cancel(self, t: Turn) -> str:
        """Close the flow; saved answers stay."""
        await t.close()
        if t.me.is_registered:
            return _("Cancelled. Your profile is as it was before this change.")
        return _(
            "Registration paused. What you entered so far is kept: send /start to "
            "continue, or /forget to delete it."
        )

    async def _apply(self, t: Turn, answer: questions.Answer) -> list[Reply]:
        """Store an accepted answer and move on; or explain and ask again; or offer choices."""
        assert t.state is not None
        step = t.state.step
        if answer.error is not None:
            return [Reply(answer.error), *questions.prompt(step, t.me, t.data)]
        if answer.fields is None:
            if answer.data is not None:
                await t.goto(FlowName.REGISTER, step, {**t.data, **answer.data})
            return answer.replies
        donor_store.update_donor(t.me, **answer.fields)
        if "ward_code" in answer.fields and t.me.is_registered:
            # A registered donor who moves follows their new ward too (old ones stay until unfollowed).
            await follows.follow(
                t.session, t.me.id or 0, t.me.province_code or "", t.me.ward_code or ""
            )
        replies = [Reply(note) for note in answer.notes]
        if step == "ward":
            saved = questions.ward_label(t.me.province_code, t.me.ward_code)
            replies.insert(
                0, Reply(_("Saved: {ward}").format(ward=saved), keyboard=Keyboard.REMOVE)
            )
        if step == "phone":
            saved = questions.phone_label(t.me.phone_e164)
            replies.insert(
                0, Reply(_("Saved: {phone}").format(phone=saved), keyboard=Keyboard.REMOVE)
            )
        following = questions.next_step(step, t.me)
        asks_donation_date = step == "donation_kind" and following == "donation_date"
        return_to = t.data.get("return_to")
        if return_to and not asks_donation_date:
            return replies + await self._finish_edit(t)
        keep = _carry(t, {"return_to": return_to} if return_to else {})
        await t.goto(FlowName.REGISTER, following, keep)
        return replies + questions.prompt(following, t.me, keep)

    async def _finish_edit(self, t: Turn) -> list[Reply]:
        """After a correction: back to the profile card, or on with the registration."""
        if t.me.is_registered:
            await t.close()
            return [profile_card(t.me, _("Saved. Your profile:"))]
        return await self.begin(t)

    async def _confirm(self, t: Turn) -> list[Reply]:
        """The summary was confirmed: the person is registered."""
        if questions.first_missing_step(t.me) != questions.CONFIRM:
            return await self.begin(t)
        donor_store.update_donor(t.me, registered_at=utcnow())
        await follows.follow(t.session, t.me.id or 0, t.me.province_code or "", t.me.ward_code or "")
        after = t.data.get("after")
        await t.close()
        text = _(
            "Thank you, {name}! You are registered as a volunteer blood donor. "
            "You can see or change your details at any time with /profile."
        ).format(name=t.me.full_name)
        replies = [main_menu(text)]
        if self.after_registration is not None and after:
            replies += await self.after_registration(t, after)
        return replies
