"""The donation rules at their edges: intervals, age, weight and volume, deferrals, exclusions."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest

from services.eligibility import rules
from services.eligibility.rules import (
    Answers,
    Deferral,
    Donation,
    DonationKind,
    Effect,
    Profile,
    RuleOptions,
    Sex,
    Status,
    allowed_volume_ml,
    assess,
    next_eligible_date,
)

WB, RC, PLT, PLA = (
    DonationKind.WHOLE_BLOOD,
    DonationKind.RED_CELLS,
    DonationKind.PLATELETS,
    DonationKind.PLASMA,
)
LAW = RuleOptions.preset("law")
NIHBT = RuleOptions.preset("nihbt")
GMV = RuleOptions.preset("giot_mau_vang")
DEFAULT = RuleOptions()
DAY0 = date(2025, 3, 1)
BIRTH = date(1990, 6, 15)


def adult(
    weight: float | None = 60.0, sex: Sex = Sex.MALE, donations: tuple[Donation, ...] = ()
) -> Profile:
    """A 34-year-old with the given weight and history."""
    return Profile(birth_date=BIRTH, sex=sex, weight_kg=weight, donations=donations)


# --- intervals (Điều 6) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last", "wanted", "options", "days"),
    [
        (WB, WB, DEFAULT, 84),
        (RC, WB, DEFAULT, 84),
        (PLA, PLA, DEFAULT, 14),
        (PLT, PLT, LAW, 14),
        (PLT, PLT, NIHBT, 21),
        # Alternating kinds: the most recent donation decides (Điều 6 khoản 4).
        (WB, PLT, DEFAULT, 84),
        (WB, PLA, DEFAULT, 84),
        (PLT, WB, LAW, 14),
        (PLT, WB, NIHBT, 21),
        (PLA, WB, NIHBT, 14),
    ],
)
def test_interval_after_one_donation(
    last: DonationKind, wanted: DonationKind, options: RuleOptions, days: int
) -> None:
    assert next_eligible_date([Donation(DAY0, last)], wanted, options) == DAY0 + timedelta(days)


@pytest.mark.parametrize(
    ("last", "options", "day", "status"),
    [
        (WB, DEFAULT, 83, Status.CAN_GIVE_FROM),
        (WB, DEFAULT, 84, Status.CAN_GIVE_NOW),
        (PLA, DEFAULT, 13, Status.CAN_GIVE_FROM),
        (PLA, DEFAULT, 14, Status.CAN_GIVE_NOW),
        (PLT, LAW, 13, Status.CAN_GIVE_FROM),
        (PLT, LAW, 14, Status.CAN_GIVE_NOW),
        (PLT, LAW, 20, Status.CAN_GIVE_NOW),
        (PLT, NIHBT, 14, Status.CAN_GIVE_FROM),
        (PLT, NIHBT, 20, Status.CAN_GIVE_FROM),
        (PLT, NIHBT, 21, Status.CAN_GIVE_NOW),
    ],
)
def test_interval_edges(last: DonationKind, options: RuleOptions, day: int, status: Status) -> None:
    wanted = PLT if last is PLT else last
    profile = adult(donations=(Donation(DAY0, last),))
    verdict = assess(profile, Answers(kind=wanted), DAY0 + timedelta(day), options)
    assert verdict.status is status
    if status is Status.CAN_GIVE_FROM:
        interval = {PLT: options.platelet_interval_days, PLA: 14, WB: 84}[last]
        assert verdict.earliest_date == DAY0 + timedelta(interval)
        assert verdict.reasons[0].code == f"interval_{last.value}"
    else:
        assert verdict.earliest_date == DAY0 + timedelta(day)
        assert verdict.reasons == ()


def test_alternating_history_whole_blood_then_platelets() -> None:
    history = [Donation(DAY0, WB), Donation(DAY0 + timedelta(84), PLT)]
    assert next_eligible_date(history, WB, LAW) == DAY0 + timedelta(84 + 14)
    assert next_eligible_date(history, WB, NIHBT) == DAY0 + timedelta(84 + 21)


def test_alternating_history_platelets_then_whole_blood() -> None:
    history = [Donation(DAY0 + timedelta(21), WB), Donation(DAY0, PLT)]  # order of the list ignored
    assert next_eligible_date(history, PLT, NIHBT) == DAY0 + timedelta(21 + 84)


def test_no_history_no_date() -> None:
    assert next_eligible_date([], WB) is None


def test_same_day_donations_take_the_longest_gap() -> None:
    history = [Donation(DAY0, PLA), Donation(DAY0, WB)]
    assert next_eligible_date(history, WB) == DAY0 + timedelta(84)


def test_interval_reason_carries_citation_and_source() -> None:
    profile = adult(donations=(Donation(DAY0, PLT),))
    law = assess(profile, Answers(kind=PLT), DAY0 + timedelta(1), LAW).reasons[0]
    nihbt = assess(profile, Answers(kind=PLT), DAY0 + timedelta(1), NIHBT).reasons[0]
    assert law.source == "law" and "Điều 6" in law.citation and law.params["days"] == 14
    assert nihbt.source == "operator" and "NIHBT" in nihbt.citation and nihbt.params["days"] == 21


# --- age (Điều 4 khoản 1) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "status", "code"),
    [
        (date(2008, 6, 14), Status.CAN_GIVE_FROM, "age_under_min"),  # the day before the 18th
        (date(2008, 6, 15), Status.CAN_GIVE_NOW, None),  # the 18th birthday
        (date(2051, 6, 14), Status.CAN_GIVE_NOW, None),  # the day before the 61st birthday
        (date(2051, 6, 15), Status.CANNOT_GIVE, "age_over_max"),  # the 61st birthday
    ],
)
def test_age_edges(today: date, status: Status, code: str | None) -> None:
    profile = Profile(birth_date=date(1990, 6, 15), sex=Sex.FEMALE, weight_kg=55)
    verdict = assess(profile, Answers(), today)
    assert verdict.status is status
    assert [r.code for r in verdict.reasons] == ([code] if code else [])
    if status is Status.CAN_GIVE_FROM:
        assert verdict.earliest_date == date(2008, 6, 15)
    if status is Status.CANNOT_GIVE:
        assert verdict.permanent and verdict.earliest_date is None


def test_leap_day_birthday() -> None:
    profile = Profile(birth_date=date(2008, 2, 29), sex=Sex.MALE, weight_kg=60)
    assert assess(profile, Answers(), date(2026, 2, 28)).earliest_date == date(2026, 3, 1)
    assert assess(profile, Answers(), date(2026, 3, 1)).status is Status.CAN_GIVE_NOW


def test_birth_date_in_the_future_does_not_crash() -> None:
    profile = Profile(birth_date=date(2030, 1, 1), sex=Sex.MALE, weight_kg=60)
    verdict = assess(profile, Answers(), date(2025, 1, 1))
    assert verdict.status is Status.CAN_GIVE_FROM and verdict.earliest_date == date(2048, 1, 1)


# --- weight and volume (Điều 4 khoản 2) --------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "sex", "options", "volume"),
    [
        (41.9, Sex.FEMALE, LAW, None),
        (42.0, Sex.FEMALE, LAW, 250),
        (44.9, Sex.FEMALE, LAW, 250),
        (45.0, Sex.FEMALE, LAW, 350),
        (49.9, Sex.FEMALE, LAW, 350),
        (50.0, Sex.FEMALE, LAW, 450),
        (42.0, Sex.FEMALE, GMV, None),
        (44.9, Sex.FEMALE, GMV, None),
        (45.0, Sex.FEMALE, GMV, 350),
        (41.9, Sex.MALE, LAW, None),
        (42.0, Sex.MALE, LAW, None),
        (44.9, Sex.MALE, LAW, None),
        (45.0, Sex.MALE, LAW, 350),
        (49.9, Sex.MALE, LAW, 350),
        (50.0, Sex.MALE, LAW, 450),
        (80.0, Sex.MALE, LAW, 450),
        (44.0, None, LAW, None),  # unknown sex: the stricter limit
    ],
)
def test_whole_blood_volume(
    weight: float, sex: Sex | None, options: RuleOptions, volume: int | None
) -> None:
    assert allowed_volume_ml(weight, sex, WB, options) == volume


@pytest.mark.parametrize(
    ("weight", "volume"), [(49.9, None), (50.0, 500), (59.9, 500), (60.0, 650), (90.0, 650)]
)
@pytest.mark.parametrize("kind", [PLT, PLA, RC])
@pytest.mark.parametrize("sex", [Sex.MALE, Sex.FEMALE])
def test_apheresis_volume(weight: float, volume: int | None, kind: DonationKind, sex: Sex) -> None:
    assert allowed_volume_ml(weight, sex, kind) == volume


def test_too_light_is_refused_with_the_limit() -> None:
    verdict = assess(adult(weight=48.0), Answers(kind=PLT), DAY0)
    assert verdict.status is Status.CANNOT_GIVE and not verdict.permanent
    (reason,) = verdict.reasons
    assert reason.code == "weight_below_min" and reason.params["min_kg"] == 50.0
    assert reason.effect is Effect.OPEN


def test_women_weight_option_changes_the_citation() -> None:
    light = adult(weight=43.0, sex=Sex.FEMALE)
    assert assess(light, Answers(), DAY0, LAW).volume_ml == 250
    (reason,) = assess(light, Answers(), DAY0, GMV).reasons
    assert reason.source == "operator" and "Giọt máu vàng" in reason.citation


def test_unknown_weight_leaves_volume_to_the_screening() -> None:
    verdict = assess(adult(weight=None), Answers(), DAY0)
    assert verdict.status is Status.CAN_GIVE_NOW and verdict.volume_ml is None


# --- deferrals (Điều 5) and exclusions (Điều 4) -------------------------------------------------


@pytest.mark.parametrize(
    ("code", "start", "until"),
    [
        ("flu", date(2025, 3, 1), date(2025, 3, 8)),
        ("cold", date(2025, 3, 1), date(2025, 3, 8)),
        ("vaccine_other", date(2025, 3, 1), date(2025, 3, 8)),
        ("dengue", date(2025, 3, 1), date(2025, 3, 29)),
        ("pneumonia", date(2025, 3, 1), date(2025, 3, 29)),
        ("vaccine_live", date(2025, 3, 1), date(2025, 3, 29)),
        ("isotretinoin", date(2025, 3, 1), date(2025, 6, 1)),
        ("finasteride", date(2025, 3, 1), date(2025, 6, 1)),
        ("tattoo", date(2025, 3, 1), date(2025, 9, 1)),
        ("piercing", date(2025, 3, 1), date(2025, 9, 1)),
        ("typhoid", date(2025, 3, 1), date(2025, 9, 1)),
        ("tattoo", date(2024, 8, 31), date(2025, 3, 1)),  # no 31 February: the 1st of March
        ("surgery", date(2025, 3, 1), date(2026, 3, 1)),
        ("malaria", date(2025, 3, 1), date(2026, 3, 1)),
        ("tuberculosis", date(2025, 3, 1), date(2026, 3, 1)),
        ("transfusion", date(2025, 3, 1), date(2026, 3, 1)),
        ("childbirth", date(2025, 3, 1), date(2026, 3, 1)),
        ("pregnancy_end", date(2025, 3, 1), date(2026, 3, 1)),
        ("dutasteride", date(2025, 3, 1), date(2026, 3, 1)),
        ("aspirin", date(2025, 3, 1), date(2025, 3, 8)),
        ("clopidogrel", date(2025, 3, 1), date(2025, 3, 8)),
    ],
)
def test_each_deferral_ends_on_its_day(code: str, start: date, until: date) -> None:
    answers = Answers(deferrals=(Deferral(code, start),))
    before = assess(adult(), answers, until - timedelta(1))
    assert before.status is Status.CAN_GIVE_FROM and before.earliest_date == until
    assert before.reasons[0].code == code and before.reasons[0].until == until
    assert assess(adult(), answers, until).status is Status.CAN_GIVE_NOW


def test_several_deferrals_each_with_its_end() -> None:
    today = date(2025, 3, 10)
    answers = Answers(
        deferrals=(
            Deferral("flu", date(2025, 3, 8)),
            Deferral("tattoo", date(2025, 1, 20)),
            Deferral("dengue", date(2025, 2, 20)),
            Deferral("cold", date(2025, 2, 1)),  # already over: not a reason any more
        )
    )
    profile = adult(donations=(Donation(date(2025, 2, 1), WB),))
    verdict = assess(profile, answers, today)
    assert verdict.status is Status.CAN_GIVE_FROM
    ends = {r.code: r.until for r in verdict.reasons}
    assert ends == {
        "tattoo": date(2025, 7, 20),
        "interval_whole_blood": date(2025, 4, 26),
        "dengue": date(2025, 3, 20),
        "flu": date(2025, 3, 15),
    }
    assert verdict.earliest_date == date(2025, 7, 20) == verdict.reasons[0].until
    assert all(r.citation and r.source in ("law", "operator") for r in verdict.reasons)


def test_the_same_event_twice_keeps_the_later_end() -> None:
    answers = Answers(
        deferrals=(Deferral("flu", date(2025, 3, 1)), Deferral("flu", DAY0 + timedelta(3)))
    )
    (reason,) = assess(adult(), answers, DAY0).reasons
    assert reason.until == DAY0 + timedelta(10)


def test_medicine_deferrals_follow_the_option() -> None:
    answers = Answers(deferrals=(Deferral("isotretinoin", DAY0),))
    assert assess(adult(), answers, DAY0, DEFAULT).status is Status.CAN_GIVE_FROM
    assert assess(adult(), answers, DAY0, LAW).status is Status.CAN_GIVE_NOW


def test_ongoing_event_has_no_date() -> None:
    verdict = assess(adult(), Answers(deferrals=(Deferral("flu", None),)), DAY0)
    assert verdict.status is Status.CANNOT_GIVE and not verdict.permanent
    assert verdict.reasons[0].effect is Effect.OPEN and verdict.reasons[0].params == {"days": 7}


@pytest.mark.parametrize("code", ["hiv", "hbv", "hcv", "risk_behaviour", "chronic_disease"])
def test_permanent_exclusions(code: str) -> None:
    answers = Answers(conditions={code}, deferrals=(Deferral("flu", DAY0),))
    verdict = assess(adult(), answers, DAY0)
    assert verdict.status is Status.CANNOT_GIVE and verdict.permanent
    assert verdict.earliest_date is None
    assert verdict.reasons[0].code == code and verdict.reasons[0].until is None
    assert "Điều 4" in verdict.reasons[0].citation


def test_pregnant_now() -> None:
    verdict = assess(adult(sex=Sex.FEMALE), Answers(pregnant=True), DAY0)
    assert verdict.status is Status.CANNOT_GIVE and not verdict.permanent
    assert verdict.reasons[0].code == "pregnant" and verdict.reasons[0].params == {"months": 12}


def test_hazardous_job_is_advice_not_delay() -> None:
    verdict = assess(adult(), Answers(hazardous_job=True), DAY0)
    assert verdict.status is Status.CAN_GIVE_NOW and verdict.earliest_date == DAY0
    (reason,) = verdict.reasons
    assert reason.code == "hazardous_job" and reason.effect is Effect.ADVICE
    assert reason.until is None and reason.params == {"hours_before_work": 12}
    assert "Điều 5 khoản 5" in reason.citation


def test_dates_in_the_future_do_not_crash() -> None:
    future = DAY0 + timedelta(400)
    profile = adult(donations=(Donation(future, WB),))
    verdict = assess(profile, Answers(deferrals=(Deferral("tattoo", future),)), DAY0)
    assert verdict.status is Status.CAN_GIVE_FROM
    assert verdict.earliest_date == rules.add_months(future, 6)


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(rules.UnknownRuleCode):
        assess(adult(), Answers(deferrals=(Deferral("hiccups", DAY0),)), DAY0)
    with pytest.raises(rules.UnknownRuleCode):
        assess(adult(), Answers(conditions={"hiccups"}), DAY0)


def test_every_rule_in_the_data_has_a_citation_and_a_source() -> None:
    with rules.RULES_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    parsed = rules.parse_rules(raw)
    cited: list[rules.IntervalRule | rules.DeferralRule | rules.Citation] = [
        *parsed.intervals,
        *parsed.deferrals.values(),
        *parsed.permanent.values(),
    ]
    for rule in cited:
        assert rule.citation and rule.source in ("law", "operator"), rule
    for item in parsed.deferrals.values():
        assert item.days or item.months, item
    for name in RuleOptions.preset_names():
        RuleOptions.preset(name)
    assert {"flu", "tattoo", "dengue", "surgery", "aspirin"} <= rules.deferral_codes()
    assert {"hiv", "hbv", "hcv"} <= rules.condition_codes()
    assert rules.hemoglobin_thresholds() == (120, 125)


def test_a_change_of_regulation_is_a_change_of_data() -> None:
    with rules.RULES_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    raw["deferrals"]["tattoo"]["months"] = 12
    assert rules.parse_rules(raw).deferrals["tattoo"].until(DAY0) == date(2026, 3, 1)


def _all_citations(raw: dict) -> set[str]:
    """Every `citation = …` of the rules file, wherever it sits."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "citation":
                    found.add(str(value))
                elif key != "citations_en":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(raw)
    return found


def test_every_citation_has_its_english_form() -> None:
    with rules.RULES_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    english = rules.rules().english_citations
    citations = _all_citations(raw)
    assert len(citations) > 20
    for citation in citations:
        assert citation in english, citation
        assert "Điều" not in english[citation] and "Thông tư" not in english[citation]
        assert rules.citation_in(citation, "vi") == citation
        assert rules.citation_in(citation, "en") == english[citation]
    tattoo = rules.rules().deferrals["tattoo"].citation
    assert rules.citation_in(tattoo, "en") == "Circular 26/2013/TT-BYT, Article 5(2)(a)"
    assert rules.citation_in(rules.volume_citation(WB), "en").endswith("Article 4(2)(a)")
    assert rules.citation_in(rules.volume_citation(PLT), "en").endswith("Article 4(2)(b)")


@pytest.mark.parametrize(
    ("weight", "sex", "kind", "volume"),
    [
        (48.0, Sex.MALE, PLT, 350),  # too light for platelets (50 kg), fine for 350 ml of blood
        (44.0, Sex.FEMALE, PLA, 250),  # women from 42 kg: 250 ml below 45 kg
        (44.0, Sex.MALE, PLT, None),  # men need 45 kg for whole blood too
        (55.0, Sex.MALE, PLT, None),  # platelets allowed: nothing to suggest
        (48.0, Sex.MALE, WB, None),  # whole blood asked for already
    ],
)
def test_whole_blood_instead_of_apheresis_refused_for_weight(
    weight: float, sex: Sex, kind: DonationKind, volume: int | None
) -> None:
    instead = rules.whole_blood_instead(adult(weight, sex), Answers(kind=kind), DAY0)
    if volume is None:
        assert instead is None
    else:
        assert instead is not None and instead.kind is WB
        assert instead.status is Status.CAN_GIVE_NOW and instead.volume_ml == volume


def test_whole_blood_instead_keeps_the_other_reasons() -> None:
    tattoo = Deferral("tattoo", DAY0 - timedelta(30))
    answers = Answers(kind=PLT, deferrals=(tattoo,))
    instead = rules.whole_blood_instead(adult(48.0), answers, DAY0)
    assert instead is not None and instead.status is Status.CAN_GIVE_FROM
    assert instead.earliest_date == rules.add_months(tattoo.start_date or DAY0, 6)
