"""FAQ answers for this person: the rules applied to what the bot knows and what they typed.

"When can I give again?" gets the day computed from the donor's last donation and saved deferral
(services/donor_eligibility); "I weigh 43 kg" gets what the rules allow at that weight for their
sex (services/eligibility). The general answer of the knowledge base still follows: this is the
line before it. The words it reads are data (locales/faq/_conversation.toml, [personal]).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from models import Donor
from services.core.i18n import _
from services.core.labels import date_label, number_label
from services.eligibility.donor_status import eligibility_on
from services.eligibility.onsite import is_onsite, onsite_label
from services.eligibility.rules import (
    Answers,
    DonationKind,
    Effect,
    Profile,
    RuleOptions,
    Sex,
    assess,
    min_weight_kg,
    volume_citation,
)
from services.eligibility.texts import (
    EVENT_LABELS,
    citation_text,
    event_label,
    kind_name,
    reason_line,
)
from services.knowledge.faq import Word, load_conversation, message_words

# A number, maybe with one or two decimals after "," or ".", and the word after it.
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:[.,]\d{1,2})?)(?![\d])\s*([^\W\d_]+)?")


@dataclass(frozen=True, slots=True)
class PersonalWords:
    """locales/faq/_conversation.toml [personal], parsed."""

    interval_entries: frozenset[str]
    weight_entries: frozenset[str]
    kinds: tuple[tuple[tuple[Word, ...], DonationKind], ...]
    weight_units: tuple[tuple[Word, ...], ...]
    weight_words: tuple[tuple[Word, ...], ...]
    weight_range: tuple[float, float]
    female: tuple[tuple[Word, ...], ...]
    male: tuple[tuple[Word, ...], ...]


def _phrases(texts: Sequence[object]) -> tuple[tuple[Word, ...], ...]:
    """Phrases of the conversation file as words (case ignored)."""
    found = (tuple(Word(w.accented, w.folded) for w in message_words(str(t))) for t in texts)
    return tuple(p for p in found if p)


@cache
def personal_words() -> PersonalWords:
    """The words of locales/faq/_conversation.toml [personal], read once."""
    raw = load_conversation()["personal"]
    kinds: Mapping[str, Sequence[str]] = raw["kinds"]
    return PersonalWords(
        interval_entries=frozenset(str(e) for e in raw["interval_entries"]),
        weight_entries=frozenset(str(e) for e in raw["weight_entries"]),
        kinds=tuple(
            (phrase, DonationKind(kind))
            for kind, texts in kinds.items()
            for phrase in _phrases(texts)
        ),
        weight_units=_phrases(raw["weight_units"]),
        weight_words=_phrases(raw["weight_words"]),
        weight_range=(float(raw["weight_min_kg"]), float(raw["weight_max_kg"])),
        female=_phrases(raw["female"]),
        male=_phrases(raw["male"]),
    )


def _holds(words: Sequence[Word], phrases: Sequence[Sequence[Word]]) -> bool:
    """Whether the words contain one of the phrases."""
    for phrase in phrases:
        size = len(phrase)
        for start in range(len(words) - size + 1):
            if all(w.matches(p) for w, p in zip(words[start : start + size], phrase, strict=True)):
                return True
    return False


def kind_asked(text: str) -> DonationKind:
    """The donation a message asks about: platelets, plasma, red cells, else whole blood."""
    words = message_words(text)
    for phrase, kind in personal_words().kinds:
        if _holds(words, [phrase]):
            return kind
    return DonationKind.WHOLE_BLOOD


def weight_in(text: str) -> float | None:
    """The weight a message gives in kg ("43 kg", "43,5 ký", "I weigh 43"), else None."""
    table = personal_words()
    low, high = table.weight_range
    normal = unicodedata.normalize("NFC", text)
    for match in _NUMBER.finditer(normal):
        value = float(match.group(1).replace(",", "."))
        unit = match.group(2)
        unit_words = message_words(unit) if unit else []
        before = message_words(normal[: match.start()])[-3:]
        is_weight = (bool(unit_words) and _holds(unit_words[:1], table.weight_units)) or (
            _holds(before, table.weight_words)
        )
        if is_weight and low <= value <= high:
            return value
    return None


def sex_in(text: str) -> Sex | None:
    """The sex a message names ("mình là nữ", "I'm a man"), if exactly one."""
    table = personal_words()
    words = message_words(text)
    female, male = _holds(words, table.female), _holds(words, table.male)
    if female == male:
        return None
    return Sex.FEMALE if female else Sex.MALE


def personal_answer(
    entry_id: str,
    text: str,
    donor: Donor | None,
    today: date,
    rules: RuleOptions | None,
) -> str | None:
    """A line for this person to put before the FAQ entry's answer, or None when nothing
    personal applies (not an entry about waiting or weight, or nothing known)."""
    table = personal_words()
    if entry_id in table.interval_entries:
        return _next_date_answer(text, donor, today, rules)
    if entry_id in table.weight_entries:
        return _weight_answer(text, donor, today, rules)
    return None


# --- when can I give again -----------------------------------------------------------------------


def _next_date_answer(
    text: str, donor: Donor | None, today: date, rules: RuleOptions | None
) -> str | None:
    """The day the donor may give the kind asked about, from their last donation and deferral."""
    if donor is None:
        return None
    has_donation = donor.last_donation_date is not None and donor.last_donation_kind not in (
        None,
        "never",
    )
    saved = donor.deferred_until is not None and donor.deferred_until > today
    if not has_donation and not saved:
        return None  # nothing known: the general answer says it all
    kind = kind_asked(text)
    day = eligibility_on(donor, today, kind, rules)
    name = kind_name(kind)
    lines: list[str] = []
    if day.earliest is None:
        lines.append(_("❌ By the rules, you cannot give {kind} at the moment.").format(kind=name))
    elif day.earliest > today:
        lines.append(
            _("⏳ You can give {kind} from {date}.").format(
                kind=name, date=date_label(day.earliest)
            )
        )
    else:
        lines.append(_("✅ By the rules, you can give {kind} now.").format(kind=name))
    if day.reason is not None:
        lines.append(reason_line(day.reason))
    elif day.saved_code is not None and day.earliest is not None:
        lines.append(_saved_line(day.saved_code, day.earliest))
    elif has_donation and donor.last_donation_date is not None:
        assert donor.last_donation_kind is not None
        lines.append(
            _("Your last donation on record: {kind}, {date}.").format(
                kind=kind_name(DonationKind(donor.last_donation_kind)),
                date=date_label(donor.last_donation_date),
            )
        )
    lines.append(
        _(
            "This uses what the bot knows about you (see /profile). The final decision is made "
            "by the doctor at the screening desk."
        )
    )
    return "\n".join(lines)


def _saved_line(code: str, until: date) -> str:
    """The deferral kept from an eligibility check, with its event when the code names one."""
    if is_onsite(code):
        return "• " + _("Deferred at a drive's screening desk ({reason}) until {date}.").format(
            reason=onsite_label(code), date=date_label(until)
        )
    if code in EVENT_LABELS:
        return "• " + _(
            "{event}: the wait saved from your eligibility check ends on {date}."
        ).format(event=event_label(code), date=date_label(until))
    return "• " + _("The wait saved from your eligibility check ends on {date}.").format(
        date=date_label(until)
    )


# --- my weight -----------------------------------------------------------------------------------


def _weight_answer(
    text: str, donor: Donor | None, today: date, rules: RuleOptions | None
) -> str | None:
    """What the rules allow at the weight typed, for the sex typed or on the profile."""
    weight = weight_in(text)
    if weight is None:
        return None
    sex = sex_in(text)
    if sex is None and donor is not None and donor.sex in (Sex.MALE.value, Sex.FEMALE.value):
        sex = Sex(donor.sex)
    lines = [_whole_blood_line(weight, sex, today, rules)]
    lines.append(_apheresis_line(weight, sex, today, rules))
    lines.append(
        _(
            "You will be weighed at the drive; the final decision is made by the doctor at the "
            "screening desk."
        )
    )
    return "\n".join(lines)


def _verdict_on_weight(
    weight: float, sex: Sex | None, kind: DonationKind, today: date, rules: RuleOptions | None
) -> tuple[int | None, str | None]:
    """The volume allowed at a weight, or the weight rule's bullet when too light."""
    verdict = assess(Profile(None, sex, weight, ()), Answers(kind=kind), today, rules)
    if verdict.volume_ml is not None:
        return verdict.volume_ml, None
    too_light = [r for r in verdict.reasons if r.effect is Effect.OPEN and "weight_kg" in r.params]
    return None, reason_line(too_light[0]) if too_light else None


def _whole_blood_line(
    weight: float, sex: Sex | None, today: date, rules: RuleOptions | None
) -> str:
    """Whole blood at this weight; without a known sex, women's and men's limits both."""
    kg = number_label(weight)
    whole = DonationKind.WHOLE_BLOOD
    citation = citation_text(volume_citation(whole))
    volume, refusal = _verdict_on_weight(weight, sex, whole, today, rules)
    if volume is not None:
        text = _("With {weight} kg you may give whole blood, at most {ml} ml.").format(
            weight=kg, ml=volume
        )
        return f"{text} ({citation})"
    if sex is not None:
        text = _("With {weight} kg you are below the minimum weight for whole blood.").format(
            weight=kg
        )
        return text + ("\n" + refusal if refusal else "")
    women = min_weight_kg(Sex.FEMALE, whole, rules)
    men = min_weight_kg(Sex.MALE, whole, rules)
    women_volume, _refusal = _verdict_on_weight(weight, Sex.FEMALE, whole, today, rules)
    if women_volume is not None:
        text = _(
            "With {weight} kg a woman may give whole blood, at most {ml} ml; a man needs at "
            "least {men_kg} kg."
        ).format(weight=kg, ml=women_volume, men_kg=number_label(men))
        return f"{text} ({citation})"
    text = _(
        "With {weight} kg you are below the minimum weight for whole blood: {women_kg} kg for "
        "women, {men_kg} kg for men."
    ).format(weight=kg, women_kg=number_label(women), men_kg=number_label(men))
    return f"{text} ({citation})"


def _apheresis_line(weight: float, sex: Sex | None, today: date, rules: RuleOptions | None) -> str:
    """Platelets or plasma by apheresis at this weight."""
    kind = DonationKind.PLATELETS
    citation = citation_text(volume_citation(kind))
    volume, _refusal = _verdict_on_weight(weight, sex, kind, today, rules)
    if volume is not None:
        text = _("You may also give platelets or plasma by apheresis, at most {ml} ml.").format(
            ml=volume
        )
    else:
        text = _("Platelets or plasma by apheresis need at least {min_kg} kg.").format(
            min_kg=number_label(min_weight_kg(sex, kind, rules))
        )
    return f"{text} ({citation})"
