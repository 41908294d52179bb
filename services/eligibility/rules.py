"""Who may give blood, how much, and when: Thông tư 26/2013/TT-BYT as pure functions over data.

Every number, code and citation is in locales/rules/eligibility.toml; this module only applies them.
It returns codes and parameters, never sentences: the caller turns a `Reason.code` into text with
gettext. Dates are plain `date`s (the caller decides "today" in Asia/Ho_Chi_Minh). The bot never
replaces the doctor: a verdict is what the rules say, the screening desk decides.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from models.donor import DonationKind, Sex
from services.core.validation import nth_birthday

RULES_PATH = Path(__file__).resolve().parents[2] / "locales" / "rules" / "eligibility.toml"

LAW = "law"
OPERATOR = "operator"

ParamValue = int | float | str
Params = Mapping[str, ParamValue]


class Status(StrEnum):
    """The outcome of an assessment."""

    CAN_GIVE_NOW = "can_give_now"
    CAN_GIVE_FROM = "can_give_from"
    CANNOT_GIVE = "cannot_give"


class Effect(StrEnum):
    """What a reason does to the verdict."""

    DEFER = "defer"  # not before Reason.until
    OPEN = "open"  # not now, and no date can be computed (pregnant, too light, still ill)
    PERMANENT = "permanent"  # never (permanent exclusion, over the age limit)
    ADVICE = "advice"  # no delay, but something to respect on the day (Điều 5 khoản 5)


class UnknownRuleCode(ValueError):
    """A deferral or condition code that the rules file does not define."""


@dataclass(frozen=True, slots=True)
class Donation:
    """One past donation."""

    date: date
    kind: DonationKind


@dataclass(frozen=True, slots=True)
class Deferral:
    """An event of Điều 5 (illness recovered from, tattoo, vaccine, medicine stopped…) and its day.

    start_date is the day of recovery, of the event, of the end of the course or of the last dose;
    None means it is still going on (still ill, still taking the medicine).
    """

    code: str
    start_date: date | None


@dataclass(frozen=True, slots=True)
class Profile:
    """What the bot knows about the person (None: not known, the check is left to the screening)."""

    birth_date: date | None
    sex: Sex | None
    weight_kg: float | None = None
    donations: Sequence[Donation] = ()


@dataclass(frozen=True, slots=True)
class Answers:
    """Today's screening answers: the kind wanted, events of Điều 5, conditions of Điều 4."""

    kind: DonationKind = DonationKind.WHOLE_BLOOD
    deferrals: Sequence[Deferral] = ()
    conditions: Collection[str] = frozenset()
    pregnant: bool = False
    hazardous_job: bool = False


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a donation is delayed, refused or comes with advice; `code` is translated by the caller."""

    code: str
    until: date | None
    citation: str
    params: Params = field(default_factory=dict)
    source: str = LAW
    effect: Effect = Effect.DEFER


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome: status, earliest day, volume offered and every reason that applies."""

    status: Status
    earliest_date: date | None
    volume_ml: int | None
    reasons: tuple[Reason, ...]
    kind: DonationKind

    @property
    def permanent(self) -> bool:
        """True when a reason excludes the person for good."""
        return any(r.effect is Effect.PERMANENT for r in self.reasons)


# --- the rules file ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """One allowed value of an option, with the source that backs it."""

    value: float
    source: str
    citation: str


@dataclass(frozen=True, slots=True)
class IntervalRule:
    """A minimum gap after a kind of donation (Điều 6)."""

    code: str
    after: frozenset[DonationKind]
    before: frozenset[DonationKind]
    days: int
    option: str | None
    source: str
    citation: str


@dataclass(frozen=True, slots=True)
class DeferralRule:
    """A temporary deferral (Điều 5): a wait counted from a day."""

    code: str
    days: int
    months: int
    medicine: bool
    kinds: frozenset[DonationKind]
    source: str
    citation: str

    def until(self, start: date) -> date:
        """The first day the person may give again."""
        return add_months(start, self.months) + timedelta(days=self.days)

    def params(self) -> dict[str, ParamValue]:
        """The wait, for the caller's sentence."""
        return {"months": self.months} if self.months else {"days": self.days}


@dataclass(frozen=True, slots=True)
class Citation:
    """A rule with no numbers of its own: a source and a citation."""

    code: str
    source: str
    citation: str


@dataclass(frozen=True, slots=True)
class Rules:
    """The whole rules file, parsed."""

    version: str
    raw: Mapping[str, Any]
    intervals: tuple[IntervalRule, ...]
    deferrals: Mapping[str, DeferralRule]
    permanent: Mapping[str, Citation]
    choices: Mapping[str, tuple[Choice, ...]]
    english_citations: Mapping[str, str] = field(default_factory=dict)

    def choice(self, option: str, value: float) -> Choice:
        """The source and citation of an option's value (operator practice when not listed)."""
        for choice in self.choices.get(option, ()):
            if choice.value == value:
                return choice
        return Choice(value, OPERATOR, f"{option} = {value:g}")


def _kinds(values: Iterable[str]) -> frozenset[DonationKind]:
    """Parse a list of kind names."""
    return frozenset(DonationKind(v) for v in values)


def _duration_days(spec: Mapping[str, Any]) -> int:
    """days + 7 × weeks of a rule (months are kept apart: they are calendar months)."""
    return int(spec.get("days", 0)) + 7 * int(spec.get("weeks", 0))


def parse_rules(raw: Mapping[str, Any]) -> Rules:
    """Build the rules from a parsed TOML document."""
    intervals = tuple(
        IntervalRule(
            code=item["code"],
            after=_kinds(item["after"]),
            before=_kinds(item.get("before", [k.value for k in DonationKind])),
            days=_duration_days(item),
            option=item.get("option"),
            source=item["source"],
            citation=item["citation"],
        )
        for item in raw["intervals"]
    )
    all_kinds = [k.value for k in DonationKind]
    deferrals = {
        code: DeferralRule(
            code=code,
            days=_duration_days(spec),
            months=int(spec.get("months", 0)),
            medicine=bool(spec.get("medicine", False)),
            kinds=_kinds(spec.get("kinds", all_kinds)),
            source=spec["source"],
            citation=spec["citation"],
        )
        for code, spec in raw["deferrals"].items()
    }
    permanent = {
        code: Citation(code, spec["source"], spec["citation"])
        for code, spec in raw["permanent"].items()
    }
    choices = {
        option: tuple(Choice(float(c["value"]), c["source"], c["citation"]) for c in items)
        for option, items in raw.get("choices", {}).items()
    }
    english = {str(k): str(v) for k, v in raw.get("citations_en", {}).items()}
    return Rules(raw["version"], raw, intervals, deferrals, permanent, choices, english)


@cache
def rules() -> Rules:
    """The rules file, read once."""
    with RULES_PATH.open("rb") as fh:
        return parse_rules(tomllib.load(fh))


def deferral_codes() -> frozenset[str]:
    """Every event code `Deferral.code` accepts."""
    return frozenset(rules().deferrals)


def condition_codes() -> frozenset[str]:
    """Every permanent condition code `Answers.conditions` accepts."""
    return frozenset(rules().permanent)


def citation_in(citation: str, locale: str) -> str:
    """A citation as the reader's language writes it (the rules file quotes the Vietnamese text)."""
    if locale == "vi":
        return citation
    return rules().english_citations.get(citation, citation)


def hemoglobin_thresholds() -> tuple[int, int]:
    """Minimum hemoglobin in g/l: in general, and when giving 350 ml or more (measured on site)."""
    hb = rules().raw["hemoglobin"]
    return int(hb["min_g_per_l"]), int(hb["min_g_per_l_from_350_ml"])


# --- options -------------------------------------------------------------------------------------


def _default(name: str) -> Any:
    """An option's default from the rules file."""
    return rules().raw["defaults"][name]


@dataclass(frozen=True, slots=True)
class RuleOptions:
    """The choices a deployment makes between the law and an operator's stricter practice."""

    platelet_interval_days: int = field(
        default_factory=lambda: int(_default("platelet_interval_days"))
    )
    women_min_weight_whole_blood_kg: float = field(
        default_factory=lambda: float(_default("women_min_weight_whole_blood_kg"))
    )
    apply_medicine_deferrals: bool = field(
        default_factory=lambda: bool(_default("apply_medicine_deferrals"))
    )

    @classmethod
    def preset(cls, name: str) -> RuleOptions:
        """A named preset of the rules file: "law", "nihbt", "giot_mau_vang"."""
        values = rules().raw["presets"][name]
        return cls(
            platelet_interval_days=int(values["platelet_interval_days"]),
            women_min_weight_whole_blood_kg=float(values["women_min_weight_whole_blood_kg"]),
            apply_medicine_deferrals=bool(values["apply_medicine_deferrals"]),
        )

    @staticmethod
    def preset_names() -> tuple[str, ...]:
        """The presets the rules file defines."""
        return tuple(rules().raw["presets"])


def _options(options: RuleOptions | None) -> RuleOptions:
    """The given options, or the defaults."""
    return options if options is not None else RuleOptions()


# --- dates ---------------------------------------------------------------------------------------


def add_months(start: date, months: int) -> date:
    """Calendar months later; a missing day (31 → February) moves to the 1st of the next month."""
    if months == 0:
        return start
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    try:
        return start.replace(year=year, month=month)
    except ValueError:
        return date(year + month // 12, month % 12 + 1, 1)


def _interval(rule: IntervalRule, options: RuleOptions) -> tuple[int, str, str]:
    """Days, source and citation of an interval rule with the options applied."""
    if rule.option == "platelet_interval_days":
        days = options.platelet_interval_days
        if days == rule.days:
            return days, rule.source, rule.citation
        choice = rules().choice(rule.option, days)
        return days, choice.source, choice.citation
    return rule.days, rule.source, rule.citation


def _interval_rule(previous: DonationKind, wanted: DonationKind) -> IntervalRule | None:
    """The interval rule between two kinds, if any."""
    for rule in rules().intervals:
        if previous in rule.after and wanted in rule.before:
            return rule
    return None


def _last_donation_reason(
    donations: Sequence[Donation], kind_wanted: DonationKind, options: RuleOptions
) -> Reason | None:
    """The gap required by the most recent donation (Điều 6 khoản 4), as a reason."""
    if not donations:
        return None
    last_date = max(d.date for d in donations)
    best: Reason | None = None
    for donation in donations:  # same-day donations: the longest gap wins
        if donation.date != last_date:
            continue
        rule = _interval_rule(donation.kind, kind_wanted)
        if rule is None:
            continue
        days, source, citation = _interval(rule, options)
        reason = Reason(
            code=rule.code,
            until=donation.date + timedelta(days=days),
            citation=citation,
            params={
                "days": days,
                "last_date": donation.date.isoformat(),
                "last_kind": donation.kind.value,
            },
            source=source,
        )
        if best is None or (reason.until or last_date) > (best.until or last_date):
            best = reason
    return best


def next_eligible_date(
    donations: Sequence[Donation],
    kind_wanted: DonationKind = DonationKind.WHOLE_BLOOD,
    options: RuleOptions | None = None,
) -> date | None:
    """The first day the next donation is allowed by the intervals alone; None without history."""
    reason = _last_donation_reason(donations, kind_wanted, _options(options))
    return reason.until if reason else None


# --- weight and volume ---------------------------------------------------------------------------


def min_weight_kg(sex: Sex | None, kind: DonationKind, options: RuleOptions | None = None) -> float:
    """The lightest weight allowed for a kind (unknown sex: the stricter men's limit)."""
    opts = _options(options)
    weight = rules().raw["weight"]
    if kind.value in weight["apheresis"]["kinds"]:
        return float(min(t["min_kg"] for t in weight["apheresis"]["tiers"]))
    whole = weight["whole_blood"]
    if sex is Sex.FEMALE:
        return opts.women_min_weight_whole_blood_kg
    return float(whole["min_kg_male"])


def allowed_volume_ml(
    weight_kg: float, sex: Sex | None, kind: DonationKind, options: RuleOptions | None = None
) -> int | None:
    """The most that may be collected (the largest standard bag for whole blood); None if too light."""
    weight = rules().raw["weight"]
    if weight_kg < min_weight_kg(sex, kind, options):
        return None
    if kind.value in weight["apheresis"]["kinds"]:
        tiers = [t for t in weight["apheresis"]["tiers"] if weight_kg >= t["min_kg"]]
        return int(max(t["max_ml"] for t in tiers)) if tiers else None
    whole = weight["whole_blood"]
    if weight_kg < whole["small_donor_below_kg"]:
        cap = float(whole["small_donor_max_ml"])
    else:
        cap = min(weight_kg * whole["max_ml_per_kg"], float(whole["max_ml"]))
    bags = [int(b) for b in whole["bag_sizes_ml"] if b <= cap]
    return max(bags) if bags else None


def volume_citation(kind: DonationKind) -> str:
    """The article that caps the volume of a kind (Điều 4 khoản 2 điểm a or b)."""
    weight = rules().raw["weight"]
    if kind.value in weight["apheresis"]["kinds"]:
        return str(weight["apheresis"]["citation"])
    return str(weight["whole_blood"]["citation"])


def _weight_citation(kind: DonationKind, sex: Sex | None, options: RuleOptions) -> tuple[str, str]:
    """Source and citation of the weight limit in force."""
    weight = rules().raw["weight"]
    if kind.value in weight["apheresis"]["kinds"]:
        return weight["apheresis"]["source"], weight["apheresis"]["citation"]
    whole = weight["whole_blood"]
    if sex is Sex.FEMALE and options.women_min_weight_whole_blood_kg != whole["min_kg_female"]:
        choice = rules().choice(
            "women_min_weight_whole_blood_kg", options.women_min_weight_whole_blood_kg
        )
        return choice.source, choice.citation
    return whole["source"], whole["citation"]


# --- the assessment ------------------------------------------------------------------------------


def _age_reasons(birth_date: date | None, today: date) -> list[Reason]:
    """Too young (until the 18th birthday) or too old (from the 61st birthday)."""
    if birth_date is None:
        return []
    age = rules().raw["age"]
    adult = nth_birthday(birth_date, int(age["min_years"]))
    too_old = nth_birthday(birth_date, int(age["max_years"]) + 1)
    if today < adult:
        return [
            Reason(
                age["code_under_min"],
                adult,
                age["citation"],
                {"min_years": int(age["min_years"])},
                age["source"],
                Effect.DEFER,
            )
        ]
    if today >= too_old:
        return [
            Reason(
                age["code_over_max"],
                None,
                age["citation"],
                {"max_years": int(age["max_years"])},
                age["source"],
                Effect.PERMANENT,
            )
        ]
    return []


def _deferral_reasons(
    deferrals: Iterable[Deferral], kind: DonationKind, today: date, options: RuleOptions
) -> list[Reason]:
    """One reason per event still delaying the donation."""
    table = rules().deferrals
    found: dict[str, Reason] = {}
    for deferral in deferrals:
        rule = table.get(deferral.code)
        if rule is None:
            raise UnknownRuleCode(deferral.code)
        if (rule.medicine and not options.apply_medicine_deferrals) or kind not in rule.kinds:
            continue
        params = rule.params()
        if deferral.start_date is None:
            reason = Reason(rule.code, None, rule.citation, params, rule.source, Effect.OPEN)
        else:
            until = rule.until(deferral.start_date)
            if until <= today:
                continue
            params["start"] = deferral.start_date.isoformat()
            reason = Reason(rule.code, until, rule.citation, params, rule.source, Effect.DEFER)
        kept = found.get(rule.code)
        if kept is None or _later(reason, kept):
            found[rule.code] = reason
    return list(found.values())


def _later(a: Reason, b: Reason) -> bool:
    """Whether reason a delays longer than b (open-ended beats any date)."""
    if a.until is None:
        return b.until is not None
    return b.until is not None and a.until > b.until


def _condition_reasons(conditions: Iterable[str]) -> list[Reason]:
    """Permanent exclusions of Điều 4."""
    table = rules().permanent
    reasons = []
    for code in sorted(set(conditions)):
        item = table.get(code)
        if item is None:
            raise UnknownRuleCode(code)
        reasons.append(Reason(code, None, item.citation, {}, item.source, Effect.PERMANENT))
    return reasons


def _sort_key(reason: Reason) -> tuple[int, int, str]:
    """Exclusions first, then the latest deferral first, then advice."""
    rank = {Effect.PERMANENT: 0, Effect.OPEN: 1, Effect.DEFER: 2, Effect.ADVICE: 3}[reason.effect]
    ordinal = -(reason.until.toordinal()) if reason.until else 0
    return rank, ordinal, reason.code


def assess(
    profile: Profile,
    answers: Answers,
    today: date,
    options: RuleOptions | None = None,
) -> Verdict:
    """Apply every rule to a person and today's answers; the screening doctor has the last word."""
    opts = _options(options)
    raw = rules().raw
    kind = answers.kind
    reasons: list[Reason] = []

    reasons += _condition_reasons(answers.conditions)
    reasons += _age_reasons(profile.birth_date, today)

    volume: int | None = None
    if profile.weight_kg is not None:
        volume = allowed_volume_ml(profile.weight_kg, profile.sex, kind, opts)
        if volume is None:
            source, citation = _weight_citation(kind, profile.sex, opts)
            minimum = min_weight_kg(profile.sex, kind, opts)
            reasons.append(
                Reason(
                    raw["weight"]["code"],
                    None,
                    citation,
                    {"min_kg": minimum, "weight_kg": profile.weight_kg, "kind": kind.value},
                    source,
                    Effect.OPEN,
                )
            )

    if answers.pregnant:
        pregnant = raw["pregnant"]
        then = rules().deferrals[pregnant["then"]]
        reasons.append(
            Reason(
                pregnant["code"],
                None,
                pregnant["citation"],
                then.params(),
                pregnant["source"],
                Effect.OPEN,
            )
        )

    interval = _last_donation_reason(profile.donations, kind, opts)
    if interval is not None and interval.until is not None and interval.until > today:
        reasons.append(interval)

    reasons += _deferral_reasons(answers.deferrals, kind, today, opts)

    if answers.hazardous_job:
        job = raw["hazardous_job"]
        reasons.append(
            Reason(
                job["code"],
                None,
                job["citation"],
                {"hours_before_work": int(job["hours_before_work"])},
                job["source"],
                Effect.ADVICE,
            )
        )

    reasons.sort(key=_sort_key)
    blocking = [r for r in reasons if r.effect in (Effect.PERMANENT, Effect.OPEN)]
    dated = [r.until for r in reasons if r.effect is Effect.DEFER and r.until is not None]
    if blocking:
        return Verdict(Status.CANNOT_GIVE, None, volume, tuple(reasons), kind)
    if dated:
        return Verdict(Status.CAN_GIVE_FROM, max(dated), volume, tuple(reasons), kind)
    return Verdict(Status.CAN_GIVE_NOW, today, volume, tuple(reasons), kind)


def whole_blood_instead(
    profile: Profile,
    answers: Answers,
    today: date,
    options: RuleOptions | None = None,
) -> Verdict | None:
    """Whole blood's verdict when apheresis is refused for the weight alone and whole blood is not
    (a 48 kg donor cannot give platelets but may give 350 ml of whole blood); otherwise None."""
    if answers.kind is DonationKind.WHOLE_BLOOD or profile.weight_kg is None:
        return None
    asked = assess(profile, answers, today, options)
    if not any(r.code == rules().raw["weight"]["code"] for r in asked.reasons):
        return None
    whole = assess(profile, replace(answers, kind=DonationKind.WHOLE_BLOOD), today, options)
    return None if whole.status is Status.CANNOT_GIVE else whole
