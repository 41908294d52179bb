"""The guided check "Can I give blood?": ask only what the profile lacks, then the verdict.

The answers stay in the flow's draft (codes and dates, never free text) and are dropped when the
verdict is given. Only a "deferred until" date and its reason code are kept, and only
when the person asks for a reminder (services/reminders).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from models.conversation import FlowName
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.menus import MenuItem, OpenMenu
from services.conversation.steps import (
    Accept,
    Draft,
    Move,
    Read,
    Step,
    StepFlow,
    done,
    go,
    keep,
    retry,
)
from services.core.i18n import _
from services.core.labels import (
    DONATION_KINDS,
    NEVER_DONATED,
    SEXES,
    date_label,
    donation_kind_label,
    number_label,
    sex_label,
)
from services.core.text import fold
from services.core.validation import age_on
from services.donors.questions import parse_past_date
from services.eligibility.rules import (
    Answers,
    Deferral,
    Donation,
    DonationKind,
    Profile,
    RuleOptions,
    Sex,
    Status,
    Verdict,
    assess,
    whole_blood_instead,
)
from services.eligibility.texts import (
    DATE_QUESTIONS,
    EVENT_GROUPS,
    GROUP_LABELS,
    ONGOING_LABELS,
    PREGNANT_NOW,
    RemindMe,
    event_label,
    group_of,
    latest_reason,
    verdict_text,
)

MIN_WEIGHT_KG = 25.0  # below or above these, the number is a typo, not a weight
MAX_WEIGHT_KG = 250.0
_WEIGHT = re.compile(r"^\s*(\d{1,3}(?:[.,]\d{1,2})?)\s*(.{0,12})$")
_WEIGHT_UNITS = frozenset({"", "kg", "kgs", "ki", "ky", "kilo", "kilogram", "kilogam", "can"})


def parse_weight(text: str) -> float | None:
    """52, 52kg, 52,5 kg, 52 ký, 52 cân → 52.0 / 52.5; None when it is not a weight."""
    match = _WEIGHT.match(text)
    if match is None or fold(match.group(2)).replace(" ", "") not in _WEIGHT_UNITS:
        return None
    return float(match.group(1).replace(",", "."))


_DAYS_AGO = re.compile(r"^(\d{1,3}) ?(ngay|days?) ?(truoc|ago)$")
_RELATIVE_DAYS = {"hom nay": 0, "today": 0, "hom qua": 1, "yesterday": 1, "hom kia": 2}


def parse_event_date(text: str, today: date) -> tuple[date | None, str | None]:
    """A past date as typed, or "today", "hôm qua", "3 ngày trước", "10 days ago"."""
    folded = fold(text)
    if folded in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[folded]), None
    if match := _DAYS_AGO.match(folded):
        return today - timedelta(days=int(match.group(1))), None
    return parse_past_date(text, today)


# ---------------------------------------------------------------- buttons (one kind each)


@dataclass(frozen=True)
class CheckSex(ButtonData, kind="esex"):
    """ "esex:{male|female}"."""

    value: str


@dataclass(frozen=True)
class CheckKind(ButtonData, kind="ekind"):
    """What the person would give: "ekind:{kind}"."""

    value: str


@dataclass(frozen=True)
class CheckLastKind(ButtonData, kind="elast"):
    """What they gave last time: "elast:{kind|never}"."""

    value: str


@dataclass(frozen=True)
class CheckCategory(ButtonData, kind="ecat"):
    """A group of recent events, "ecat:list" (back to the groups) or "ecat:done"."""

    value: str


@dataclass(frozen=True)
class CheckEvent(ButtonData, kind="ecode"):
    """One event of a group: "ecode:{code}"."""

    value: str


@dataclass(frozen=True)
class CheckOngoing(ButtonData, kind="edate"):
    """The event is still going on: "edate:ongoing"."""

    value: str


@dataclass(frozen=True)
class CheckJob(ButtonData, kind="ejob"):
    """A job with a risk after giving: "ejob:{yes|no}"."""

    value: str


# ---------------------------------------------------------------- the draft


class CheckDraft(Draft):
    """The answers of one check (kept only while it runs, never once the verdict is given)."""

    dob: date | None = None
    sex: str | None = None
    kind: str | None = None
    weight: float | None = None
    last_kind: str | None = None
    last_date: date | None = None
    events: list[tuple[str, date | None]] = []  # [code, start] (no start: still going on)
    group: str | None = None  # the group whose events are listed
    code: str | None = None  # the event whose date is asked
    job: bool | None = None


def _sex(t: Turn, draft: CheckDraft) -> Sex | None:
    """The sex of the profile, or the one answered in this check."""
    code = t.me.sex or draft.sex
    return Sex(code) if code in tuple(Sex) else None


def _groups(t: Turn, draft: CheckDraft) -> list[str]:
    """The event groups that can apply to this person (no pregnancy questions for a man)."""
    male = _sex(t, draft) is Sex.MALE
    return [group for group in GROUP_LABELS if not (male and group == "pregnancy")]


def _profile(t: Turn, draft: CheckDraft) -> Profile:
    """What the profile knows, completed by the answers of this check."""
    me = t.me
    last_kind = me.last_donation_kind or draft.last_kind
    last_date = me.last_donation_date or draft.last_date
    donations = []
    if last_kind in DONATION_KINDS and last_date is not None:
        donations.append(Donation(last_date, DonationKind(last_kind)))
    return Profile(me.date_of_birth or draft.dob, _sex(t, draft), draft.weight, tuple(donations))


def _answers(draft: CheckDraft) -> Answers:
    """Today's answers, as the rules expect them."""
    deferrals = [Deferral(code, start) for code, start in draft.events if code != PREGNANT_NOW]
    return Answers(
        kind=DonationKind(draft.kind or DonationKind.WHOLE_BLOOD.value),
        deferrals=tuple(deferrals),
        pregnant=any(code == PREGNANT_NOW for code, _start in draft.events),
        hazardous_job=bool(draft.job),
    )


# ---------------------------------------------------------------- the questions


def _ask_birth_date(t: Turn, draft: CheckDraft) -> list[Reply]:
    return [Reply(_("What is your date of birth? (e.g. 25/08/1995)"))]


def _ask_sex(t: Turn, draft: CheckDraft) -> list[Reply]:
    buttons = [[CheckSex(s).button(sex_label(s)) for s in Sex]]
    return [Reply(_("Your sex?"), buttons)]


def _ask_kind(t: Turn, draft: CheckDraft) -> list[Reply]:
    buttons = [[CheckKind(k).button(donation_kind_label(k))] for k in DONATION_KINDS]
    return [Reply(_("What would you like to give?"), buttons)]


def _ask_weight(t: Turn, draft: CheckDraft) -> list[Reply]:
    return [Reply(_("How much do you weigh, in kilograms? (e.g. 52)"))]


def _ask_last(t: Turn, draft: CheckDraft) -> list[Reply]:
    codes = (*DONATION_KINDS, NEVER_DONATED)
    buttons = [[CheckLastKind(k).button(donation_kind_label(k))] for k in codes]
    return [Reply(_("What did you give the last time?"), buttons)]


def _ask_last_date(t: Turn, draft: CheckDraft) -> list[Reply]:
    return [Reply(_("On what day was your last donation? (e.g. 15/03/2026)"))]


def _ask_events(t: Turn, draft: CheckDraft) -> list[Reply]:
    """The groups of recent events, with what was already given."""
    lines = [
        _(
            "In the last 12 months, did you have any of these? Tap each that applies, "
            "then “Done”."
        )
    ]
    if draft.events:
        lines += ["", _("So far:")]
        for code, start in draft.events:
            when = date_label(start) if start else _("still going on")
            lines.append(f"• {event_label(code)} ({when})")
    groups = _groups(t, draft)
    buttons = [
        [CheckCategory(group).button(_(GROUP_LABELS[group])) for group in groups[i : i + 2]]
        for i in range(0, len(groups), 2)
    ]
    finished = _("✅ Done") if draft.events else _("✅ None of these")
    buttons.append([CheckCategory("done").button(finished)])
    return [Reply("\n".join(lines), buttons)]


def _ask_pick(t: Turn, draft: CheckDraft) -> list[Reply]:
    """The events of the chosen group."""
    codes = EVENT_GROUPS[str(draft.group)]
    choices = [CheckEvent(code).button(event_label(code)) for code in codes]
    width = 2 if all(len(b.label) <= 24 for b in choices) else 1  # short names side by side
    buttons = [choices[i : i + width] for i in range(0, len(choices), width)]
    buttons.append([CheckCategory("list").button(_("◀ Back to the list"))])
    return [Reply(_("Which one was it?"), buttons)]


def _ask_event_date(t: Turn, draft: CheckDraft) -> list[Reply]:
    """When the chosen event began (or that it is still going on)."""
    code = str(draft.code)
    group = group_of(code) or "other"
    text = f"{event_label(code)}\n{_(DATE_QUESTIONS[group])}"
    if group not in ONGOING_LABELS:
        return [Reply(text)]
    return [Reply(text, [[CheckOngoing("ongoing").button(_(ONGOING_LABELS[group]))]])]


def _ask_job(t: Turn, draft: CheckDraft) -> list[Reply]:
    text = _(
        "Do you work as a pilot, crane operator, at height, in a mine, at sea, as a "
        "diver, a driver of buses, trains or boats, or as a professional athlete?"
    )
    return [Reply(text, [[CheckJob("yes").button(_("Yes")), CheckJob("no").button(_("No"))]])]


# ---------------------------------------------------------------- the readers


def _read_birth_date(t: Turn, draft: CheckDraft, text: str) -> Read:
    value, error = parse_past_date(text, t.today)
    if value is None or error is not None:
        return retry(error or "")
    if age_on(value, t.today) > 110:
        return retry(
            _("{date} would make you {age}. Please check the year.").format(
                date=date_label(value), age=age_on(value, t.today)
            )
        )
    return Accept(value)


def _read_weight(t: Turn, draft: CheckDraft, text: str) -> Read:
    weight = parse_weight(text)
    if weight is None:
        return retry(_("Please type your weight in kilograms as a number, e.g. 52."))
    if not MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
        error = _("{weight} kg does not look right. Please type your weight in kilograms, e.g. 52.")
        return retry(error.format(weight=number_label(weight)))
    return Accept(weight)


def _read_day(t: Turn, draft: CheckDraft, text: str) -> Read:
    value, error = parse_event_date(text, t.today)
    if value is None or error is not None:
        return retry(error or "")
    return Accept(value)


def _one_of(*values: str) -> Callable[[Turn, CheckDraft, Any], Read | None]:
    """A tap reader accepting these values of its button."""
    return lambda t, draft, tapped: Accept(tapped.value) if tapped.value in values else None


def _read_category(t: Turn, draft: CheckDraft, tapped: CheckCategory) -> Read | None:
    """A group to list, back to the groups, or done with the events."""
    if tapped.value == "done":
        return go()
    if tapped.value == "list":
        return go("events")
    if tapped.value in _groups(t, draft):
        draft.group = tapped.value
        return go("pick")
    return None


def _read_event(t: Turn, draft: CheckDraft, tapped: CheckEvent) -> Read | None:
    """An event of the listed group; its date is asked next (a pregnancy has none)."""
    if group_of(tapped.value) != draft.group:
        return None
    if tapped.value == PREGNANT_NOW:
        return _add_event(draft, tapped.value, None)
    draft.code = tapped.value
    return go("event_date")


def _read_event_day(t: Turn, draft: CheckDraft, text: str) -> Read:
    read = _read_day(t, draft, text)
    return _add_event(draft, str(draft.code), read.value) if isinstance(read, Accept) else read


def _read_ongoing(t: Turn, draft: CheckDraft, tapped: CheckOngoing) -> Read | None:
    return _add_event(draft, str(draft.code), None) if tapped.value == "ongoing" else None


def _add_event(draft: CheckDraft, code: str, start: date | None) -> Move:
    """Note an event (replacing an earlier answer for the same one), back to the list."""
    draft.events = [*(e for e in draft.events if e[0] != code), (code, start)]
    return go("events")


class EligibilityFlow(StepFlow[CheckDraft]):
    """Birth date and sex (if unknown), kind, weight, last donation (if unknown), events, job."""

    name = FlowName.ELIGIBILITY
    draft = CheckDraft
    holds_health_answers = True  # swept an hour after the last answer (services/chat.py)

    def __init__(self, options: RuleOptions | None = None) -> None:
        self.options = options
        kinds = DONATION_KINDS
        super().__init__(
            Step("dob", _ask_birth_date, text=_read_birth_date, save=keep("dob")),
            Step("sex", _ask_sex, taps=(CheckSex,), tap=_one_of(*SEXES), save=keep("sex")),
            Step("kind", _ask_kind, taps=(CheckKind,), tap=_one_of(*kinds), save=keep("kind")),
            Step("weight", _ask_weight, text=_read_weight, save=keep("weight")),
            Step(
                "last",
                _ask_last,
                taps=(CheckLastKind,),
                tap=_one_of(*kinds, NEVER_DONATED),
                save=keep("last_kind"),
            ),
            Step("last_date", _ask_last_date, text=_read_day, save=keep("last_date")),
            Step("events", _ask_events, taps=(CheckCategory,), tap=_read_category),
            Step(
                "pick",
                _ask_pick,
                taps=(CheckCategory, CheckEvent),
                tap=lambda t, d, tapped: (
                    _read_event(t, d, tapped)
                    if isinstance(tapped, CheckEvent)
                    else _read_category(t, d, tapped)
                ),
                part_of="events",
                scratch=("group",),
            ),
            Step(
                "event_date",
                _ask_event_date,
                text=_read_event_day,
                taps=(CheckOngoing,),
                tap=_read_ongoing,
                part_of="events",
                scratch=("code",),
            ),
            Step("job", _ask_job, taps=(CheckJob,), tap=_one_of("yes", "no"), save=self._verdict),
        )

    def path(self, t: Turn, draft: CheckDraft) -> list[str]:
        """The questions this person is asked, in order."""
        steps = []
        if t.me.date_of_birth is None:
            steps.append("dob")
        if t.me.sex is None:
            steps.append("sex")
        steps += ["kind", "weight"]
        if t.me.last_donation_kind is None:
            steps.append("last")
            if draft.last_kind not in (None, NEVER_DONATED):
                steps.append("last_date")
        steps += ["events", "job"]
        return steps

    async def begin(self, t: Turn) -> list[Reply]:
        """Start the check at its first question."""
        intro = _(
            "Let's check whether you can give blood. I will ask a few short questions; your "
            "health answers are not stored. /back goes one step back, /cancel stops."
        )
        draft = CheckDraft()
        return [Reply(intro), *await self.start(t, self.path(t, draft)[0], draft, history=[])]

    async def on_cancel(self, t: Turn) -> str:
        """Close the check; nothing of it is kept."""
        await t.close()
        return _("Check cancelled; none of its answers were kept. /eligibility starts it again.")

    # ------------------------------------------------------------ the verdict

    def assess(self, t: Turn, draft: CheckDraft) -> Verdict:
        """Apply the rules to the profile and the answers."""
        return assess(_profile(t, draft), _answers(draft), t.today, self.options)

    async def _verdict(self, t: Turn, draft: CheckDraft, job: str) -> Move:
        """Close the check (its answers go with it) and give the verdict with the next step."""
        draft.job = job == "yes"
        verdict = self.assess(t, draft)
        instead = whole_blood_instead(_profile(t, draft), _answers(draft), t.today, self.options)
        await t.close()
        text = verdict_text(verdict, draft.weight, instead)
        if instead is not None and verdict.status is Status.CANNOT_GIVE:
            buttons = [
                [OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))],
                [OpenMenu(MenuItem.ELIGIBILITY).button(_("🔁 Check again later"))],
            ]
        elif verdict.status is Status.CAN_GIVE_NOW:
            buttons = [[OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))]]
        elif verdict.status is Status.CAN_GIVE_FROM:
            reason = latest_reason(verdict)
            assert verdict.earliest_date is not None and reason is not None
            remind = _("🔔 Remind me on {date}").format(date=date_label(verdict.earliest_date))
            buttons = [
                [RemindMe(verdict.earliest_date, reason.code).button(remind)],
                [OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))],
            ]
        elif verdict.permanent:
            text += "\n\n" + _(
                "You can still help: share the drives with your family and friends (/drives)."
            )
            buttons = []
        else:
            buttons = [[OpenMenu(MenuItem.ELIGIBILITY).button(_("🔁 Check again later"))]]
        if not t.me.is_registered:
            buttons = [[OpenMenu(MenuItem.PROFILE).button(_("📝 Finish registering"))]]
        return done(Reply(text, buttons))
