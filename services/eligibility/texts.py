"""The eligibility rules in words: event labels, one sentence per reason, the verdict.

Channel-neutral and translated with gettext; the rules themselves are in services/eligibility.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date

from services.conversation.buttons import ButtonData
from services.core.i18n import N_, _, get_locale, ngettext
from services.core.labels import date_label, number_label
from services.eligibility.rules import (
    DonationKind,
    Effect,
    Reason,
    Status,
    Verdict,
    citation_in,
    volume_citation,
)

# The recent events the guided check asks about, by group (codes of locales/rules/eligibility.toml).
EVENT_GROUPS: dict[str, tuple[str, ...]] = {
    "illness": (
        "flu",
        "cold",
        "sore_throat",
        "nose_throat_allergy",
        "migraine",
        "dengue",
        "pneumonia",
        "bronchitis",
        "gastroenteritis",
        "dysentery",
        "urinary_infection",
        "skin_infection",
        "measles",
        "rubella",
        "mumps",
        "whooping_cough",
        "cholera",
        "typhoid",
        "sepsis",
        "pancreatitis",
        "osteomyelitis",
        "malaria",
        "tuberculosis",
        "syphilis",
        "tetanus",
        "encephalitis",
        "meningitis",
    ),
    "vaccine": (
        "vaccine_other",
        "vaccine_live",
        "rabies_vaccine_after_bite",
        "hepatitis_b_immunoglobulin",
    ),
    "skin": ("tattoo", "piercing"),
    "surgery": ("surgery",),
    "pregnancy": ("pregnant_now", "childbirth", "pregnancy_end"),
    "transfusion": ("transfusion",),
    "medicine": (
        "aspirin",
        "clopidogrel",
        "ticlopidine",
        "piroxicam",
        "isotretinoin",
        "tretinoin",
        "finasteride",
        "dutasteride",
    ),
    "other": (
        "blood_exposure",
        "snake_bite",
        "arteritis_obliterans",
        "phlebitis_obliterans",
        "low_hemoglobin",
    ),
}
PREGNANT_NOW = "pregnant_now"  # not a deferral: Answers.pregnant

GROUP_LABELS: dict[str, str] = {
    "illness": N_("🤒 An illness"),
    "vaccine": N_("💉 A vaccine or serum"),
    "skin": N_("🖋 A tattoo or piercing"),
    "surgery": N_("🏥 Surgery"),
    "pregnancy": N_("🤰 Pregnancy or childbirth"),
    "transfusion": N_("🩸 A blood transfusion received"),
    "medicine": N_("💊 Medicines"),
    "other": N_("⚠️ Something else"),
}

EVENT_LABELS: dict[str, str] = {
    "flu": N_("Flu"),
    "cold": N_("Common cold"),
    "sore_throat": N_("Sore throat"),
    "nose_throat_allergy": N_("Nose or throat allergy"),
    "migraine": N_("Migraine"),
    "dengue": N_("Dengue fever"),
    "pneumonia": N_("Pneumonia"),
    "bronchitis": N_("Bronchitis"),
    "gastroenteritis": N_("Gastroenteritis"),
    "dysentery": N_("Dysentery"),
    "urinary_infection": N_("Urinary infection"),
    "skin_infection": N_("Skin infection"),
    "measles": N_("Measles"),
    "rubella": N_("Rubella"),
    "mumps": N_("Mumps"),
    "whooping_cough": N_("Whooping cough"),
    "cholera": N_("Cholera"),
    "typhoid": N_("Typhoid"),
    "sepsis": N_("Sepsis"),
    "pancreatitis": N_("Pancreatitis"),
    "osteomyelitis": N_("Osteomyelitis"),
    "malaria": N_("Malaria"),
    "tuberculosis": N_("Tuberculosis"),
    "syphilis": N_("Syphilis (treated)"),
    "tetanus": N_("Tetanus"),
    "encephalitis": N_("Encephalitis"),
    "meningitis": N_("Meningitis"),
    "vaccine_other": N_("A vaccine (flu, COVID-19, hepatitis B, HPV…)"),
    "vaccine_live": N_("Measles, rubella, mumps, chickenpox, typhoid, cholera or BCG vaccine"),
    "rabies_vaccine_after_bite": N_("Rabies vaccine after an animal bite"),
    "hepatitis_b_immunoglobulin": N_("Hepatitis B immunoglobulin"),
    "tattoo": N_("Tattoo"),
    "piercing": N_("Piercing (ear, nose, navel…)"),
    "surgery": N_("Surgery"),
    PREGNANT_NOW: N_("I am pregnant now"),
    "childbirth": N_("I gave birth"),
    "pregnancy_end": N_("A pregnancy ended (miscarriage or termination)"),
    "transfusion": N_("I received blood or blood products"),
    "aspirin": N_("Aspirin"),
    "clopidogrel": N_("Clopidogrel"),
    "ticlopidine": N_("Ticlopidine"),
    "piroxicam": N_("Piroxicam"),
    "isotretinoin": N_("Isotretinoin (acne)"),
    "tretinoin": N_("Tretinoin"),
    "finasteride": N_("Finasteride (prostate, hair loss)"),
    "dutasteride": N_("Dutasteride (prostate)"),
    "blood_exposure": N_("Contact with the blood of a person at risk (e.g. a needle injury)"),
    "snake_bite": N_("Snake bite"),
    "arteritis_obliterans": N_("Arteritis obliterans"),
    "phlebitis_obliterans": N_("Phlebitis obliterans"),
    "low_hemoglobin": N_("Turned away for low hemoglobin last time"),
}

# What the date of an event means, by group (the wait is counted from it).
DATE_QUESTIONS: dict[str, str] = {
    "illness": N_("When did you recover from it? (e.g. 05/11/2026)"),
    "vaccine": N_("When did you have the last dose? (e.g. 05/11/2026)"),
    "skin": N_("When was it done? (e.g. 05/11/2026)"),
    "surgery": N_("When did you recover from the surgery? (e.g. 05/11/2026)"),
    "pregnancy": N_("On what day? (e.g. 05/11/2026)"),
    "transfusion": N_("When did you receive it? (e.g. 05/11/2026)"),
    "medicine": N_("When did you take the last dose? (e.g. 05/11/2026)"),
    "other": N_("On what day? (e.g. 05/11/2026)"),
}
ONGOING_LABELS: dict[str, str] = {
    "illness": N_("I am still ill"),
    "vaccine": N_("The course is not finished"),
    "surgery": N_("Not recovered yet"),
    "medicine": N_("I still take it"),
}


def group_of(code: str) -> str | None:
    """The group an event code belongs to."""
    return next((group for group, codes in EVENT_GROUPS.items() if code in codes), None)


def event_label(code: str) -> str:
    """An event's name in the current locale."""
    return _(EVENT_LABELS[code]) if code in EVENT_LABELS else code


KIND_NAMES: dict[DonationKind, str] = {
    DonationKind.WHOLE_BLOOD: N_("whole blood"),
    DonationKind.RED_CELLS: N_("red cells by apheresis"),
    DonationKind.PLATELETS: N_("platelets by apheresis"),
    DonationKind.PLASMA: N_("plasma by apheresis"),
}


def kind_name(kind: DonationKind) -> str:
    """Whole blood, platelets or plasma, inside a sentence."""
    return _(KIND_NAMES[kind])


def _wait(params: Mapping[str, object]) -> str:
    """ "12 months", "4 weeks", "7 days"."""
    months = int(str(params.get("months", 0)))
    if months:
        return ngettext("{n} month", "{n} months", months).format(n=months)
    days = int(str(params.get("days", 0)))
    if 14 <= days <= 28 and days % 7 == 0:
        return ngettext("{n} week", "{n} weeks", days // 7).format(n=days // 7)
    return ngettext("{n} day", "{n} days", days).format(n=days)


def reason_sentence(reason: Reason) -> str:
    """What one rule says about this person, without the date or the citation."""
    params = dict(reason.params)
    code = reason.code
    if code == "age_under_min":
        return _("Donors must be at least {years} years old.").format(years=params["min_years"])
    if code == "age_over_max":
        return _("Donors must be at most {years} years old.").format(years=params["max_years"])
    if code == "weight_below_min":
        kind = DonationKind(str(params["kind"]))
        return _("The minimum weight for {kind} is {min_kg} kg; you weigh {weight} kg.").format(
            kind=kind_name(kind),
            min_kg=number_label(float(params["min_kg"])),
            weight=number_label(float(params["weight_kg"])),
        )
    if code == "pregnant":
        return _(
            "Not during pregnancy; after the birth or the end of a pregnancy, wait {wait}."
        ).format(wait=_wait(params))
    if code.startswith("interval_"):
        last = date.fromisoformat(str(params["last_date"]))
        return _("Your last donation ({kind}, {date}) needs a gap of {days} days.").format(
            kind=kind_name(DonationKind(str(params["last_kind"]))),
            date=date_label(last),
            days=params["days"],
        )
    if code == "hazardous_job":
        return _(
            "Your job: do not give blood on a day you work; take the day off, or give at least "
            "{hours} hours before your shift."
        ).format(hours=params["hours_before_work"])
    label = event_label(code)
    if reason.effect is Effect.OPEN:
        return _("{event}: wait {wait}, counted from the day it is over.").format(
            event=label, wait=_wait(params)
        )
    start = date.fromisoformat(str(params["start"]))
    return _("{event} ({date}): wait {wait}.").format(
        event=label, date=date_label(start), wait=_wait(params)
    )


def citation_text(citation: str) -> str:
    """A rule's citation in the reader's language."""
    return citation_in(citation, get_locale())


def reason_line(reason: Reason) -> str:
    """One bullet: the sentence, until when, and the article it comes from."""
    text = reason_sentence(reason)
    if reason.effect is Effect.DEFER and reason.until is not None:
        text += " " + _("Lifted on {date}.").format(date=date_label(reason.until))
    return f"• {text} ({citation_text(reason.citation)})"


def _volume_line(verdict: Verdict, weight_kg: float) -> str:
    """The most that may be taken at this weight, with its article."""
    text = _("With {weight} kg, the most that may be taken is {ml} ml.").format(
        weight=number_label(weight_kg), ml=verdict.volume_ml
    )
    return f"{text} ({citation_text(volume_citation(verdict.kind))})"


def _instead_line(instead: Verdict, weight_kg: float | None) -> str:
    """Whole blood is still open when apheresis was refused for the weight."""
    if instead.status is Status.CAN_GIVE_FROM and instead.earliest_date is not None:
        return _("💡 Whole blood is still possible at your weight: from {date}.").format(
            date=date_label(instead.earliest_date)
        )
    if instead.volume_ml is not None and weight_kg is not None:
        return _("💡 Whole blood is still possible: with {weight} kg, up to {ml} ml.").format(
            weight=number_label(weight_kg), ml=instead.volume_ml
        )
    return _("💡 Whole blood is still possible at your weight.")


def verdict_text(verdict: Verdict, weight_kg: float | None, instead: Verdict | None = None) -> str:
    """The verdict, every reason with its citation, and the doctor's final word.

    `instead` is whole blood's verdict when the kind asked for was refused for the weight alone."""
    kind = kind_name(verdict.kind)
    if verdict.status is Status.CAN_GIVE_NOW:
        lines = [_("✅ By the rules, you can give {kind} now.").format(kind=kind)]
        if verdict.volume_ml is not None and weight_kg is not None:
            lines.append(_volume_line(verdict, weight_kg))
    elif verdict.status is Status.CAN_GIVE_FROM:
        assert verdict.earliest_date is not None
        lines = [
            _("⏳ You can give {kind} from {date}.").format(
                kind=kind, date=date_label(verdict.earliest_date)
            )
        ]
    else:
        lines = [_("❌ By the rules, you cannot give {kind} at the moment.").format(kind=kind)]
    reasons = [r for r in verdict.reasons if r.effect is not Effect.ADVICE]
    advice = [r for r in verdict.reasons if r.effect is Effect.ADVICE]
    if reasons:
        lines += ["", _("Why:"), *(reason_line(r) for r in reasons)]
    if advice:
        lines += ["", _("Please note:"), *(reason_line(r) for r in advice)]
    if instead is not None:
        lines += ["", _instead_line(instead, weight_kg)]
    lines += [
        "",
        _(
            "The screening at the drive also checks your blood pressure, pulse and hemoglobin "
            "and asks about your health. The final decision is made by the doctor at the "
            "screening desk."
        ),
    ]
    return "\n".join(lines)


def latest_reason(verdict: Verdict) -> Reason | None:
    """The reason that sets the earliest date (the one a reminder is about)."""
    dated = [r for r in verdict.reasons if r.effect is Effect.DEFER and r.until is not None]
    return max(dated, key=lambda r: r.until or date.min) if dated else None


@dataclasses.dataclass(frozen=True)
class RemindMe(ButtonData, kind="remind"):
    """"Remind me on that day": the first day the rules allow, and the reason's code."""

    day: date
    code: str
