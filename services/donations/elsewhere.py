""" "I donated elsewhere": the day, the kind, the volume and the place of a donation the bot did
not see; recorded as the donor's own word, and the same rules apply to it."""

from __future__ import annotations

from datetime import date

from models.conversation import FlowName
from models.donations import DonationSource
from models.donor import DonationKind
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
    go,
    retry,
    use_the_buttons,
)
from services.core.i18n import _
from services.core.labels import DONATION_KINDS, date_label, donation_kind_label
from services.core.text import clean_input, visible
from services.core.validation import InputError
from services.donations import history
from services.donations.buttons import ReportAction, ReportDonation
from services.donations.views import milestone_line, next_eligible_line
from services.donors.questions import parse_past_date
from services.eligibility.rules import RuleOptions

PLACE_LIMIT = 200


class ReportDraft(Draft):
    """The donation being reported."""

    day: str | None = None  # ISO date
    kind: str | None = None  # a DonationKind
    volume_ml: int | None = None
    place: str | None = None


class DonatedElsewhereFlow(StepFlow[ReportDraft]):
    """Day → kind → volume → place → confirm."""

    name = FlowName.DONATED_ELSEWHERE
    draft = ReportDraft

    def __init__(self, options: RuleOptions | None = None) -> None:
        self.options = options
        taps = (ReportDonation,)
        super().__init__(
            Step("day", _ask_day, text=_read_day, save=_save_day),
            Step(
                "kind",
                _ask_kind,
                taps=taps,
                tap=_read_kind,
                save=_save_kind,
                use_buttons=use_the_buttons,
            ),
            Step(
                "volume",
                _ask_volume,
                text=_read_volume,
                taps=taps,
                tap=_tap_volume,
                save=_save_volume,
            ),
            Step(
                "place",
                _ask_place,
                text=_read_place,
                taps=taps,
                tap=_skip_place,
                save=_save_place,
                free_text=True,
            ),
            Step(
                "confirm",
                _ask_confirm,
                taps=taps,
                tap=_read_confirm,
                save=self._finish,
                use_buttons=use_the_buttons,
            ),
        )

    async def begin(self, t: Turn) -> list[Reply]:
        """Ask for the day."""
        intro = Reply(_("Add a donation you made elsewhere. Send /cancel to stop."))
        return [intro, *await self.start(t, "day", ReportDraft(), history=[])]

    async def on_cancel(self, t: Turn) -> str:
        await t.close()
        return _("Nothing was added.")

    async def _finish(self, t: Turn, draft: ReportDraft, save: bool) -> Move:
        """Record it (the donor's word), say when they may give again and any milestone."""
        await t.close()
        if not save:
            return done(Reply(_("Nothing was added.")))
        assert draft.day and draft.kind and draft.volume_ml
        try:
            await history.record(
                t.session,
                t.me,
                day=date.fromisoformat(draft.day),
                kind=DonationKind(draft.kind),
                volume_ml=draft.volume_ml,
                source=DonationSource.SELF_REPORTED,
                recorded_by=history.SELF,
                today=t.today,
                place=draft.place,
                options=self.options,
            )
        except InputError as error:
            return done(Reply(str(error)))
        summary = await history.summary(t.session, t.me)
        lines = [_("✅ Added to your donations."), next_eligible_line(t.me, t, self.options)]
        if summary.last is not None and summary.last.donated_on == date.fromisoformat(draft.day):
            milestone = milestone_line(summary.count, t.me.province_code)
            if milestone:
                lines.append(milestone)
        return done(Reply("\n".join(lines)))


def _ask_day(t: Turn, draft: ReportDraft) -> list[Reply]:
    return [Reply(_("On what day did you give blood? (e.g. 20/11/2026)"))]


def _read_day(t: Turn, draft: ReportDraft, text: str) -> Read:
    day, error = parse_past_date(text, t.today)
    if day is None:
        return retry(error or "")
    if day.year < t.today.year - 60:
        return retry(_("That day is too long ago. Please check the year."))
    return Accept(day)


async def _save_day(t: Turn, draft: ReportDraft, day: date) -> Move:
    draft.day = day.isoformat()
    return go()


def _ask_kind(t: Turn, draft: ReportDraft) -> list[Reply]:
    rows = [
        [ReportDonation(ReportAction.KIND, kind).button(donation_kind_label(kind))]
        for kind in DONATION_KINDS
    ]
    return [Reply(_("What did you give?"), rows)]


def _read_kind(t: Turn, draft: ReportDraft, tapped: ReportDonation) -> Read | None:
    if tapped.action is ReportAction.KIND and tapped.value in DONATION_KINDS:
        return Accept(tapped.value)
    return None


async def _save_kind(t: Turn, draft: ReportDraft, kind: str) -> Move:
    if draft.kind != kind:
        draft.volume_ml = None
    draft.kind = kind
    return go()


def _whole_blood(draft: ReportDraft) -> bool:
    return draft.kind in (DonationKind.WHOLE_BLOOD, DonationKind.RED_CELLS)


def _ask_volume(t: Turn, draft: ReportDraft) -> list[Reply]:
    if _whole_blood(draft):
        row = [
            ReportDonation(ReportAction.VOLUME, str(ml)).button(f"{ml} ml")
            for ml in history.WHOLE_BLOOD_VOLUMES
        ]
        return [Reply(_("How much? (the bag: 250, 350 or 450 ml)"), [row])]
    return [Reply(_("How much was collected, in ml? (e.g. 500)"))]


def _volume(draft: ReportDraft, text: str) -> Read:
    digits = text.strip().lower().removesuffix("ml").strip()
    if not digits.isdigit():
        return retry(_("Please type the volume as a number of ml, e.g. 350."))
    try:
        kind = DonationKind(draft.kind or DonationKind.WHOLE_BLOOD)
        return Accept(history.check_volume(kind, int(digits)))
    except InputError as error:
        return retry(str(error))


def _read_volume(t: Turn, draft: ReportDraft, text: str) -> Read:
    return _volume(draft, text)


def _tap_volume(t: Turn, draft: ReportDraft, tapped: ReportDonation) -> Read | None:
    return _volume(draft, tapped.value) if tapped.action is ReportAction.VOLUME else None


async def _save_volume(t: Turn, draft: ReportDraft, volume: int) -> Move:
    draft.volume_ml = volume
    return go()


def _ask_place(t: Turn, draft: ReportDraft) -> list[Reply]:
    skip = [[ReportDonation(ReportAction.SKIP).button(_("Skip ▶"))]]
    return [
        Reply(_("Where? (e.g. Viện Huyết học – Truyền máu Trung ương) You may skip this."), skip)
    ]


def _read_place(t: Turn, draft: ReportDraft, text: str) -> Read:
    place = " ".join(clean_input(text).split())
    if not visible(place):
        return retry(_("Please type some text."))
    return Accept(place[:PLACE_LIMIT])


def _skip_place(t: Turn, draft: ReportDraft, tapped: ReportDonation) -> Read | None:
    return Accept(None) if tapped.action is ReportAction.SKIP else None


async def _save_place(t: Turn, draft: ReportDraft, place: str | None) -> Move:
    draft.place = place
    return go()


def _ask_confirm(t: Turn, draft: ReportDraft) -> list[Reply]:
    assert draft.day is not None
    lines = [
        _("Add this donation?"),
        f"• {date_label(date.fromisoformat(draft.day))} – {donation_kind_label(draft.kind)}, "
        f"{draft.volume_ml} ml" + (f" – {draft.place}" if draft.place else ""),
        _("It is recorded as your own report; the same rules apply to it."),
    ]
    rows = [
        [ReportDonation(ReportAction.SAVE).button(_("✅ Add it"))],
        [ReportDonation(ReportAction.DROP).button(_("Don't add it"))],
    ]
    return [Reply("\n".join(lines), rows)]


def _read_confirm(t: Turn, draft: ReportDraft, tapped: ReportDonation) -> Read | None:
    if tapped.action in (ReportAction.SAVE, ReportAction.DROP):
        return Accept(tapped.action is ReportAction.SAVE)
    return None
