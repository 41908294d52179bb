"""Following one more ward: type its name, pick it."""

from __future__ import annotations

from dataclasses import dataclass

from models.conversation import FlowName
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.steps import (
    Accept,
    Draft,
    Move,
    Read,
    Step,
    StepFlow,
    done,
    in_a_thread,
    retry,
    stay,
)
from services.core.i18n import _
from services.donors import follows
from services.drives import citizen
from services.knowledge.old_addresses import look_up_ward, preload
from services.knowledge.wards import Ward, get_ward


@dataclass(frozen=True)
class FollowWard(ButtonData, kind="fw"):
    """A candidate ward to follow: "fw:{province}:{ward}"."""

    province_code: str
    ward_code: str


class FollowDraft(Draft):
    """An old district typed alone: the next answer is read inside it."""

    old_district: str | None = None


def _ask_ward(t: Turn, draft: FollowDraft) -> list[Reply]:
    """The question (and the old names' index starts loading while the person types)."""
    preload()
    return [Reply(_("Which ward do you want to follow? Type its name (e.g. “phuong hoan kiem”)."))]


def _read_ward_name(t: Turn, draft: FollowDraft, text: str) -> Read:
    """Candidates as buttons; an old address says what its ward became."""
    found = look_up_ward(text, district=draft.old_district)
    if found.district:  # a district alone: read the next answer inside it
        draft.old_district = found.district
    if found.wards:
        rows = [[FollowWard(w.province_code, w.code).button(w.label)] for w in found.wards]
        return stay(Reply("\n".join([*found.notes, _("Which one?")]), rows))
    if found.notes:
        return stay(Reply("\n".join(found.notes)))
    sorry = _("I could not find “{text}”. Please try another spelling, with the province.")
    return retry(sorry.format(text=text.strip()[:40]))


def _read_pick(t: Turn, draft: FollowDraft, tapped: FollowWard) -> Read | None:
    """A picked candidate (a ward that no longer exists is not this step's)."""
    ward = get_ward(tapped.province_code, tapped.ward_code)
    return None if ward is None else Accept(ward)


async def _follow(t: Turn, draft: FollowDraft, ward: Ward) -> Move:
    """Follow the picked ward, then show the list."""
    await follows.follow(t.session, t.me.id or 0, ward.province_code, ward.code)
    await t.close()
    return done(
        Reply(_("You now follow {ward}.").format(ward=ward.label)), *await citizen.wards_menu(t)
    )


class FollowFlow(StepFlow[FollowDraft]):
    """One step: which ward to follow."""

    name = FlowName.FOLLOW
    draft = FollowDraft

    def __init__(self) -> None:
        super().__init__(
            Step(
                "ward",
                _ask_ward,
                text=in_a_thread(_read_ward_name),
                taps=(FollowWard,),
                tap=_read_pick,
                save=_follow,
            ),
        )

    async def begin(self, t: Turn) -> list[Reply]:
        """Ask for the ward."""
        return await self.start(t, "ward", FollowDraft())

    async def before_first(self, t: Turn, draft: FollowDraft) -> list[Reply]:
        """Nothing before: leave."""
        await t.close()
        return await citizen.wards_menu(t)

    async def on_cancel(self, t: Turn) -> str:
        """Leave."""
        await t.close()
        return _("Nothing changed.")
