"""The guided check "Can I give blood?": ask only what the profile lacks, then the verdict.

The answers stay in the flow's scratch data (codes and dates, never free text) and are dropped
when the verdict is given. Only a "deferred until" date and its reason code are kept, and only
when the person asks for a reminder (services/reminders).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from models.conversation import FlowName
from services.conversation.dialog import Button, Reply
from services.conversation.flow import Flow, Turn
from services.core.i18n import _
from services.core.labels import (
    DONATION_KINDS,
    NEVER_DONATED,
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


def _events(data: dict[str, Any]) -> list[list[Any]]:
    """The events given so far: [code, start date (iso) or None]."""
    return list(data.get("events", []))


def _sex(t: Turn, data: dict[str, Any]) -> Sex | None:
    """The sex of the profile, or the one answered in this check."""
    code = t.me.sex or data.get("sex")
    return Sex(code) if code in tuple(Sex) else None


def _groups(t: Turn, data: dict[str, Any]) -> list[str]:
    """The event groups that can apply to this person (no pregnancy questions for a man)."""
    male = _sex(t, data) is Sex.MALE
    return [group for group in GROUP_LABELS if not (male and group == "pregnancy")]


def _profile(t: Turn, data: dict[str, Any]) -> Profile:
    """What the profile knows, completed by the answers of this check."""
    me = t.me
    birth = me.date_of_birth or (date.fromisoformat(data["dob"]) if data.get("dob") else None)
    sex = _sex(t, data)
    last_kind = me.last_donation_kind or data.get("last_kind")
    last_iso = data.get("last_date")
    last_date = me.last_donation_date or (date.fromisoformat(last_iso) if last_iso else None)
    donations = []
    if last_kind in DONATION_KINDS and last_date is not None:
        donations.append(Donation(last_date, DonationKind(last_kind)))
    return Profile(birth, sex, data.get("weight"), tuple(donations))


def _answers(data: dict[str, Any]) -> Answers:
    """Today's answers, as the rules expect them."""
    deferrals = [
        Deferral(code, date.fromisoformat(start) if start else None)
        for code, start in _events(data)
        if code != PREGNANT_NOW
    ]
    return Answers(
        kind=DonationKind(data.get("kind", DonationKind.WHOLE_BLOOD.value)),
        deferrals=tuple(deferrals),
        pregnant=any(code == PREGNANT_NOW for code, _start in _events(data)),
        hazardous_job=bool(data.get("job")),
    )


class EligibilityFlow(Flow):
    """Birth date and sex (if unknown), kind, weight, last donation (if unknown), events, job."""

    name = FlowName.ELIGIBILITY
    prefixes = ("esex", "ekind", "elast", "ecat", "ecode", "edate", "ejob")
    holds_health_answers = True  # swept an hour after the last answer (services/chat.py)

    def __init__(self, options: RuleOptions | None = None) -> None:
        self.options = options

    # ------------------------------------------------------------ the steps

    def _steps(self, t: Turn, data: dict[str, Any]) -> list[str]:
        """The questions this person is asked, in order."""
        steps = []
        if t.me.date_of_birth is None:
            steps.append("dob")
        if t.me.sex is None:
            steps.append("sex")
        steps += ["kind", "weight"]
        if t.me.last_donation_kind is None:
            steps.append("last")
            if data.get("last_kind") not in (None, NEVER_DONATED):
                steps.append("last_date")
        steps += ["events", "job"]
        return steps

    async def begin(self, t: Turn) -> list[Reply]:
        """Start the check at its first question."""
        intro = _(
            "Let's check whether you can give blood. I will ask a few short questions; your "
            "health answers are not stored. /back goes one step back, /cancel stops."
        )
        first = self._steps(t, {})[0]
        await t.goto(FlowName.ELIGIBILITY, first, {})
        return [Reply(intro), *self._ask(t, first, {})]

    async def prompt(self, t: Turn) -> list[Reply]:
        """Ask the open question again."""
        assert t.state is not None
        return self._ask(t, t.state.step, t.data)

    def _ask(self, t: Turn, step: str, data: dict[str, Any]) -> list[Reply]:
        """The question of a step."""
        if step == "dob":
            return [Reply(_("What is your date of birth? (e.g. 25/08/1995)"))]
        if step == "sex":
            return [
                Reply(
                    _("Your sex?"),
                    [[Button(sex_label(s), f"esex:{s}") for s in ("male", "female")]],
                )
            ]
        if step == "kind":
            buttons = [[Button(donation_kind_label(k), f"ekind:{k}")] for k in DONATION_KINDS]
            return [Reply(_("What would you like to give?"), buttons)]
        if step == "weight":
            return [Reply(_("How much do you weigh, in kilograms? (e.g. 52)"))]
        if step == "last":
            buttons = [[Button(donation_kind_label(k), f"elast:{k}")] for k in DONATION_KINDS] + [
                [Button(donation_kind_label(NEVER_DONATED), f"elast:{NEVER_DONATED}")]
            ]
            return [Reply(_("What did you give the last time?"), buttons)]
        if step == "last_date":
            return [Reply(_("On what day was your last donation? (e.g. 15/03/2026)"))]
        if step == "events":
            return [self._events_menu(t, data)]
        if step == "pick":
            group = str(data.get("group"))
            choices = [Button(event_label(code), f"ecode:{code}") for code in EVENT_GROUPS[group]]
            width = 2 if all(len(b.label) <= 24 for b in choices) else 1  # short names side by side
            buttons = [choices[i : i + width] for i in range(0, len(choices), width)]
            buttons.append([Button(_("◀ Back to the list"), "ecat:list")])
            return [Reply(_("Which one was it?"), buttons)]
        if step == "event_date":
            code = str(data.get("code"))
            group = group_of(code) or "other"
            question = _(DATE_QUESTIONS[group])
            text = f"{event_label(code)}\n{question}"
            buttons = (
                [[Button(_(ONGOING_LABELS[group]), "edate:ongoing")]]
                if group in ONGOING_LABELS
                else []
            )
            return [Reply(text, buttons)]
        if step == "job":
            text = _(
                "Do you work as a pilot, crane operator, at height, in a mine, at sea, as a "
                "diver, a driver of buses, trains or boats, or as a professional athlete?"
            )
            buttons = [[Button(_("Yes"), "ejob:yes"), Button(_("No"), "ejob:no")]]
            return [Reply(text, buttons)]
        return []

    def _events_menu(self, t: Turn, data: dict[str, Any]) -> Reply:
        """The groups of recent events, with what was already given."""
        lines = [
            _(
                "In the last 12 months, did you have any of these? Tap each that applies, "
                "then “Done”."
            )
        ]
        given = _events(data)
        if given:
            lines += ["", _("So far:")]
            for code, start in given:
                when = date_label(date.fromisoformat(start)) if start else _("still going on")
                lines.append(f"• {event_label(code)} ({when})")
        groups = _groups(t, data)
        buttons = [
            [Button(_(GROUP_LABELS[group]), f"ecat:{group}") for group in groups[i : i + 2]]
            for i in range(0, len(groups), 2)
        ]
        done = _("✅ Done") if given else _("✅ None of these")
        buttons.append([Button(done, "ecat:done")])
        return Reply("\n".join(lines), buttons)

    # ------------------------------------------------------------ answers

    async def on_text(self, t: Turn, text: str) -> list[Reply]:
        """A typed answer: a date, a weight; elsewhere the buttons are needed."""
        assert t.state is not None
        step, data = t.state.step, t.data
        if step == "dob":
            value, error = parse_past_date(text, t.today)
            if value is None or error is not None:
                return [Reply(error or ""), *self.prompt_now(t)]
            if age_on(value, t.today) > 110:
                return [
                    Reply(
                        _("{date} would make you {age}. Please check the year.").format(
                            date=date_label(value), age=age_on(value, t.today)
                        )
                    ),
                    *self.prompt_now(t),
                ]
            return await self._next(t, {**data, "dob": value.isoformat()})
        if step == "weight":
            weight = parse_weight(text)
            if weight is None:
                error = _("Please type your weight in kilograms as a number, e.g. 52.")
                return [Reply(error), *self.prompt_now(t)]
            if not MIN_WEIGHT_KG <= weight <= MAX_WEIGHT_KG:
                error = _(
                    "{weight} kg does not look right. Please type your weight in kilograms, e.g. 52."
                )
                return [Reply(error.format(weight=number_label(weight))), *self.prompt_now(t)]
            return await self._next(t, {**data, "weight": weight})
        if step in ("last_date", "event_date"):
            value, error = parse_event_date(text, t.today)
            if value is None or error is not None:
                return [Reply(error or ""), *self.prompt_now(t)]
            if step == "last_date":
                return await self._next(t, {**data, "last_date": value.isoformat()})
            return await self._add_event(t, str(data.get("code")), value)
        return [Reply(_("Please tap one of the buttons.")), *self.prompt_now(t)]

    def prompt_now(self, t: Turn) -> list[Reply]:
        """The open question (synchronous form of `prompt`)."""
        assert t.state is not None
        return self._ask(t, t.state.step, t.data)

    async def on_choice(self, t: Turn, data: str) -> list[Reply] | None:
        """A tapped answer; None when it belongs to another question."""
        assert t.state is not None
        kind, _sep, value = data.partition(":")
        step, scratch = t.state.step, t.data
        if kind == "esex" and step == "sex" and value in ("male", "female"):
            return await self._next(t, {**scratch, "sex": value})
        if kind == "ekind" and step == "kind" and value in DONATION_KINDS:
            return await self._next(t, {**scratch, "kind": value})
        if kind == "elast" and step == "last" and value in (*DONATION_KINDS, NEVER_DONATED):
            return await self._next(t, {**scratch, "last_kind": value})
        if kind == "ecat" and step in ("events", "pick"):
            if value == "done":
                return await self._next(t, scratch)
            if value == "list":
                await t.goto(FlowName.ELIGIBILITY, "events", scratch)
                return [self._events_menu(t, scratch)]
            if value in _groups(t, scratch):
                await t.goto(FlowName.ELIGIBILITY, "pick", {**scratch, "group": value})
                return self._ask(t, "pick", t.data)
        if kind == "ecode" and step == "pick" and group_of(value) == scratch.get("group"):
            if value == PREGNANT_NOW:
                return await self._add_event(t, value, None)
            await t.goto(FlowName.ELIGIBILITY, "event_date", {**scratch, "code": value})
            return self._ask(t, "event_date", t.data)
        if kind == "edate" and step == "event_date" and value == "ongoing":
            return await self._add_event(t, str(scratch.get("code")), None)
        if kind == "ejob" and step == "job" and value in ("yes", "no"):
            return await self._verdict(t, {**scratch, "job": value == "yes"})
        return None

    async def _add_event(self, t: Turn, code: str, start: date | None) -> list[Reply]:
        """Note an event (replacing an earlier answer for the same one), back to the list."""
        events = [e for e in _events(t.data) if e[0] != code]
        events.append([code, start.isoformat() if start else None])
        data = {k: v for k, v in t.data.items() if k not in ("code", "group")}
        data["events"] = events
        await t.goto(FlowName.ELIGIBILITY, "events", data)
        return [self._events_menu(t, data)]

    async def _next(self, t: Turn, data: dict[str, Any]) -> list[Reply]:
        """Store the answer and ask the following question."""
        assert t.state is not None
        steps = self._steps(t, data)
        current = "events" if t.state.step in ("pick", "event_date") else t.state.step
        following = steps[steps.index(current) + 1]
        trail = [*data.get("trail", []), current]
        data = {**data, "trail": trail}
        await t.goto(FlowName.ELIGIBILITY, following, data)
        return self._ask(t, following, data)

    async def on_back(self, t: Turn) -> list[Reply]:
        """One question back (from a sub-list, back to the list of events)."""
        assert t.state is not None
        data = dict(t.data)
        if t.state.step in ("pick", "event_date"):
            await t.goto(FlowName.ELIGIBILITY, "events", data)
            return [self._events_menu(t, data)]
        trail = list(data.get("trail", []))
        if not trail:
            return [Reply(_("This is the first question.")), *self.prompt_now(t)]
        previous = trail.pop()
        data["trail"] = trail
        await t.goto(FlowName.ELIGIBILITY, previous, data)
        return self._ask(t, previous, data)

    async def on_cancel(self, t: Turn) -> str:
        """Close the check; nothing of it is kept."""
        await t.close()
        return _("Check cancelled; none of its answers were kept. /eligibility starts it again.")

    # ------------------------------------------------------------ the verdict

    def assess(self, t: Turn, data: dict[str, Any]) -> Verdict:
        """Apply the rules to the profile and the answers."""
        return assess(_profile(t, data), _answers(data), t.today, self.options)

    async def _verdict(self, t: Turn, data: dict[str, Any]) -> list[Reply]:
        """Close the check (its answers go with it) and give the verdict with the next step."""
        verdict = self.assess(t, data)
        instead = whole_blood_instead(_profile(t, data), _answers(data), t.today, self.options)
        await t.close()
        text = verdict_text(verdict, data.get("weight"), instead)
        if instead is not None and verdict.status is Status.CANNOT_GIVE:
            buttons = [
                [Button(_("🩸 Drives near me"), "menu:drives")],
                [Button(_("🔁 Check again later"), "menu:eligibility")],
            ]
        elif verdict.status is Status.CAN_GIVE_NOW:
            buttons = [[Button(_("🩸 Drives near me"), "menu:drives")]]
        elif verdict.status is Status.CAN_GIVE_FROM:
            reason = latest_reason(verdict)
            assert verdict.earliest_date is not None and reason is not None
            remind = _("🔔 Remind me on {date}").format(date=date_label(verdict.earliest_date))
            buttons = [
                [Button(remind, f"remind:{verdict.earliest_date.isoformat()}:{reason.code}")],
                [Button(_("🩸 Drives near me"), "menu:drives")],
            ]
        elif verdict.permanent:
            text += "\n\n" + _(
                "You can still help: share the drives with your family and friends (/drives)."
            )
            buttons = []
        else:
            buttons = [[Button(_("🔁 Check again later"), "menu:eligibility")]]
        if not t.me.is_registered:
            buttons = [[Button(_("📝 Finish registering"), "menu:profile")]]
        return [Reply(text, buttons)]
