"""FAQ answers for the person (services/personal_answers.py): no database, no network."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from models import Donor
from services.core.i18n import use_locale
from services.eligibility.personal_answers import kind_asked, personal_answer, sex_in, weight_in
from services.eligibility.rules import DonationKind, RuleOptions, Sex
from services.knowledge.faq import match

TODAY = date(2026, 12, 1)


def donor(**fields: Any) -> Donor:
    """A registered donor with the given profile fields."""
    base: dict[str, Any] = {
        "channel": "telegram",
        "external_id": "1",
        "chat_id": "1",
        "consent_version": "v1",
        "consented_at": datetime.now(UTC),
    }
    return Donor(**(base | fields))


def answer(question: str, person: Donor | None, rules: RuleOptions | None = None) -> str | None:
    """The personal line for a question, through the entry the FAQ matches (in English)."""
    found = match(question, "en")
    assert found is not None, question
    with use_locale("en"):
        return personal_answer(found.entry.id, question, person, TODAY, rules)


@pytest.mark.parametrize(
    ("text", "kg"),
    [
        ("I weigh 43 kg", 43.0),
        ("tôi nặng 43 kg", 43.0),
        ("toi nang 43,5 kg", 43.5),
        ("nặng 48.5 ký có hiến được không", 48.5),
        ("I weigh 43", 43.0),
        ("hien 350ml duoc khong", None),
        ("toi 17 tuoi", None),
    ],
)
def test_the_weight_is_read_with_either_decimal_mark(text: str, kg: float | None) -> None:
    """A weight after its unit or after "weigh"/"nặng", with "," or "."; a volume is not one."""
    assert weight_in(text) == kg


def test_sex_and_kind_are_read_from_the_message() -> None:
    """The message can name the sex and the kind of donation."""
    assert sex_in("minh nang 44 ky la nu") is Sex.FEMALE
    assert sex_in("I'm a man, 44 kg") is Sex.MALE
    assert sex_in("44 kg") is None
    assert kind_asked("hien tieu cau bao lau 1 lan") is DonationKind.PLATELETS
    assert kind_asked("hiến huyết tương") is DonationKind.PLASMA
    assert kind_asked("When can I give again?") is DonationKind.WHOLE_BLOOD


def test_when_can_i_give_again_uses_the_last_donation() -> None:
    """Whole blood on 15/11/2026: 84 days, so from 07/02/2027 (Điều 6)."""
    person = donor(last_donation_kind="whole_blood", last_donation_date=date(2026, 11, 15))
    line = answer("When can I give again?", person)
    assert line is not None
    assert "07/02/2027" in line and "84 days" in line and "doctor" in line
    found = match("bao giờ tôi được hiến lại", "vi")
    assert found is not None
    with use_locale("vi"):
        line_vi = personal_answer(found.entry.id, "bao giờ tôi được hiến lại", person, TODAY, None)
    assert line_vi is not None and "07/02/2027" in line_vi


def test_the_kind_asked_and_the_rule_options_count() -> None:
    """After platelets, NIHBT's 21 days apply when chosen (14 by law)."""
    person = donor(last_donation_kind="platelets", last_donation_date=date(2026, 11, 25))
    by_law = answer("hien tieu cau bao lau 1 lan", person)
    nihbt = answer("hien tieu cau bao lau 1 lan", person, RuleOptions.preset("nihbt"))
    assert by_law is not None and "09/12/2026" in by_law
    assert nihbt is not None and "16/12/2026" in nihbt


def test_a_saved_deferral_is_later_than_the_interval() -> None:
    """A tattoo deferral kept until 02/04/2027 wins over an interval already over."""
    person = donor(
        last_donation_kind="whole_blood",
        last_donation_date=date(2026, 1, 15),
        deferred_until=date(2027, 4, 2),
        deferral_code="tattoo",
    )
    line = answer("When can I give again?", person)
    assert line is not None and "02/04/2027" in line and "Tattoo" in line


def test_a_long_ago_donation_means_now() -> None:
    """The interval is over: the person may give now, and the last donation is recalled."""
    person = donor(last_donation_kind="whole_blood", last_donation_date=date(2026, 1, 15))
    line = answer("When can I give again?", person)
    assert line is not None and "now" in line and "15/01/2026" in line


@pytest.mark.parametrize(
    "person",
    [None, donor(), donor(last_donation_kind="never")],
)
def test_nothing_known_means_no_personal_line(person: Donor | None) -> None:
    """Without a donation or a deferral on record, the general answer stands alone."""
    assert answer("When can I give again?", person) is None


def test_43_kg_for_a_woman_a_man_and_unknown() -> None:
    """43 kg: a woman may give 250 ml by law (42 kg minimum), not with Giọt máu vàng's 45 kg;
    a man is below 45 kg; without the sex, both limits are said."""
    woman, man = donor(sex="female"), donor(sex="male")
    for_woman = answer("I weigh 43 kg", woman)
    assert for_woman is not None and "250 ml" in for_woman and "Article 4" in for_woman
    strict = answer("I weigh 43 kg", woman, RuleOptions.preset("giot_mau_vang"))
    assert strict is not None and "below the minimum" in strict and "45 kg" in strict
    for_man = answer("I weigh 43 kg", man)
    assert for_man is not None and "below the minimum" in for_man and "45 kg" in for_man
    unknown = answer("I weigh 43 kg", None)
    assert unknown is not None and "a woman may give" in unknown and "45 kg" in unknown
    for line in (for_woman, strict, for_man, unknown):
        assert "50 kg" in line  # apheresis needs 50 kg
        assert "doctor" in line


def test_the_sex_typed_wins_and_vietnamese_writes_a_decimal_comma() -> None:
    """ "mình nữ nặng 43,5 kg" is a woman even on a man's profile; 43,5 in Vietnamese."""
    question = "mình là nữ, nặng 43,5 kg có hiến máu được không"
    found = match(question, "vi")
    assert found is not None and found.entry.id in ("weight", "volume")
    with use_locale("vi"):
        line = personal_answer(found.entry.id, question, donor(sex="male"), TODAY, None)
    assert line is not None and "43,5 kg" in line and "250 ml" in line


def test_enough_weight_for_everything() -> None:
    """55,5 kg: 450 ml of whole blood and apheresis up to 500 ml."""
    line = answer("I weigh 55.5 kg", donor(sex="male"))
    assert line is not None and "450 ml" in line and "500 ml" in line


def test_other_entries_get_no_personal_line() -> None:
    """Only the waiting and weight entries are personal."""
    person = donor(sex="female", last_donation_kind="whole_blood", last_donation_date=TODAY)
    assert personal_answer("tattoo", "xăm hình 43 kg", person, TODAY, None) is None
    assert personal_answer("weight", "bao nhiêu ký thì được hiến", person, TODAY, None) is None
