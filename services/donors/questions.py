"""The registration questions: one prompt and one check per step, channel-neutral.

Each answer is checked here and written to the donor row by the caller in the same transaction
as the move to the next step, so a crash never loses an accepted answer.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models import Donor
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button, Keyboard, Reply
from services.core.i18n import _
from services.core.labels import (
    BLOOD_GROUPS,
    DONATION_KINDS,
    NEVER_DONATED,
    SEXES,
    UNKNOWN_BLOOD_GROUP,
    blood_group_label,
    date_label,
    donation_kind_label,
    phone_label,
    sex_label,
)
from services.core.text import fold
from services.core.validation import (
    DateFormatError,
    DateValueError,
    age_on,
    clean_full_name,
    month_end,
    normalize_vn_phone,
    nth_birthday,
    parse_date,
    parse_month,
)
from services.knowledge.old_addresses import look_up_ward
from services.knowledge.wards import (
    Ward,
    find_provinces,
    get_province,
    get_ward,
    nearest_wards,
    ward_label,
)

STEPS = ("name", "dob", "sex", "phone", "ward", "blood_group", "donation_kind", "donation_date")
CONFIRM = "confirm"
MIN_REGISTRATION_AGE = 16  # younger people's data needs a parent's consent (Law 91/2025/QH15)
MIN_DONOR_AGE = 18
MAX_DONOR_AGE = 60
MAX_PLAUSIBLE_AGE = 110  # an older birth or donation date is a typo in the year
# The last donation step's "I don't remember the day" button. It carries the "kind" prefix so the
# registration flow, which answers "kind:" buttons, routes it here.
NO_DAY = "kind:no_day"

# What the person taps on the summary or profile, and the step that asks it again.
EDITABLE = {
    "name": "name",
    "dob": "dob",
    "sex": "sex",
    "phone": "phone",
    "ward": "ward",
    "blood": "blood_group",
    "donation": "donation_kind",
}


@dataclass
class Answer:
    """What a step made of the input.

    `fields` to store and move on; or `error` to say and ask again; or `replies` to show while
    staying on the step (e.g. ward candidates to pick from).
    """

    fields: dict[str, Any] | None = None
    error: str | None = None
    replies: list[Reply] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] | None = None  # scratch data to keep on the step


def next_step(step: str, donor: Donor) -> str:
    """The step after `step` (the donation date is skipped for someone who never gave)."""
    if step == "donation_kind" and donor.last_donation_kind == NEVER_DONATED:
        return CONFIRM
    index = STEPS.index(step)
    return STEPS[index + 1] if index + 1 < len(STEPS) else CONFIRM


def previous_step(step: str, donor: Donor) -> str | None:
    """The step before `step`, or None at the first question."""
    if step == CONFIRM:
        return "donation_kind" if donor.last_donation_kind == NEVER_DONATED else "donation_date"
    index = STEPS.index(step)
    return STEPS[index - 1] if index > 0 else None


def first_missing_step(donor: Donor) -> str:
    """Where to resume a registration that was left without a saved step."""
    checks = (
        ("name", donor.full_name),
        ("dob", donor.date_of_birth),
        ("sex", donor.sex),
        ("phone", donor.phone_e164),
        ("ward", donor.ward_code),
        ("blood_group", donor.blood_group),
        ("donation_kind", donor.last_donation_kind),
    )
    for step, value in checks:
        if value is None:
            return step
    if donor.last_donation_kind != NEVER_DONATED and donor.last_donation_date is None:
        return "donation_date"
    return CONFIRM


# ---------------------------------------------------------------- prompts


def prompt(step: str, donor: Donor, data: dict[str, Any]) -> list[Reply]:
    """The question for a step."""
    if step == "name":
        return [Reply(_("What is your full name? (as on your ID card, e.g. Nguyễn Văn An)"))]
    if step == "dob":
        return [Reply(_("What is your date of birth? (e.g. 25/08/1995)"))]
    if step == "sex":
        buttons = [[Button(sex_label(code), f"sex:{code}") for code in SEXES]]
        return [Reply(_("Your sex? (weight and volume limits differ for men and women)"), buttons)]
    if step == "phone":
        return [
            Reply(
                _(
                    "Your phone number? Tap the button below to share it, or type it "
                    "(e.g. 0912 345 678)."
                ),
                keyboard=Keyboard.CONTACT,
                keyboard_label=_("📱 Share my phone number"),
            )
        ]
    if step == "ward":
        province = get_province(data.get("province", "")) if data.get("province") else None
        if province is not None:
            text = _("Which ward or commune in {province}? Type its name.").format(
                province=province.name
            )
        else:
            text = _(
                "Where do you live? Type your ward or commune, and the province if you like "
                "(e.g. “phuong sai gon”, “ha dong hn”), or tap the button to share your location."
            )
        return [Reply(text, keyboard=Keyboard.LOCATION, keyboard_label=_("📍 Share my location"))]
    if step == "blood_group":
        rows = [
            [Button(code, f"bg:{code}") for code in BLOOD_GROUPS[:4]],
            [Button(code, f"bg:{code}") for code in BLOOD_GROUPS[4:]],
            [Button(blood_group_label(UNKNOWN_BLOOD_GROUP), f"bg:{UNKNOWN_BLOOD_GROUP}")],
        ]
        return [Reply(_("Your blood group?"), rows)]
    if step == "donation_kind":
        rows = [[Button(donation_kind_label(code), f"kind:{code}")] for code in DONATION_KINDS]
        rows.append([Button(donation_kind_label(NEVER_DONATED), f"kind:{NEVER_DONATED}")])
        return [
            Reply(_("When did you last give blood? First, what kind of donation was it?"), rows)
        ]
    if step == "donation_date":
        return [
            Reply(
                _("On what date was your last donation? (e.g. 15/03/2026)"),
                [[Button(_("I don't remember the day"), NO_DAY)]],
            )
        ]
    if step == CONFIRM:
        return [summary(donor)]
    raise ValueError(f"unknown step {step}")


def profile_lines(donor: Donor) -> list[str]:
    """The donor's fields, one per line."""
    donation = donation_kind_label(donor.last_donation_kind)
    if donor.last_donation_kind not in (None, NEVER_DONATED):
        donation = f"{donation}, {date_label(donor.last_donation_date)}"
    return [
        _("👤 Name: {value}").format(value=donor.full_name or "—"),
        _("🎂 Date of birth: {value}").format(value=date_label(donor.date_of_birth)),
        _("⚧ Sex: {value}").format(value=sex_label(donor.sex)),
        _("📞 Phone: {value}").format(value=phone_label(donor.phone_e164)),
        _("📍 Ward: {value}").format(value=ward_label(donor.province_code, donor.ward_code)),
        _("🩸 Blood group: {value}").format(value=blood_group_label(donor.blood_group)),
        _("💉 Last donation: {value}").format(value=donation),
    ]


def edit_buttons() -> list[list[Button]]:
    """One button per editable field, two per row."""
    labels = {
        "name": _("✏️ Name"),
        "dob": _("✏️ Date of birth"),
        "sex": _("✏️ Sex"),
        "phone": _("✏️ Phone"),
        "ward": _("✏️ Ward"),
        "blood": _("✏️ Blood group"),
        "donation": _("✏️ Last donation"),
    }
    buttons = [EditField(key).button(label) for key, label in labels.items()]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def summary(donor: Donor) -> Reply:
    """The registration summary: confirm, or correct any field."""
    text = "\n".join([_("Please check your details:"), "", *profile_lines(donor)])
    return Reply(text, [[Button(_("✅ Confirm"), "confirm")], *edit_buttons()])


# ---------------------------------------------------------------- answers


def answer_text(step: str, text: str, donor: Donor, data: dict[str, Any], today: date) -> Answer:
    """Check a typed answer for a step."""
    if step == "name":
        return _answer_name(text)
    if step == "dob":
        return _answer_birth_date(text, today)
    if step == "sex":
        return _answer_sex(text)
    if step == "phone":
        return _answer_phone(text)
    if step == "ward":
        return _answer_ward_text(text, data)
    if step == "blood_group":
        return _answer_blood_group(text)
    if step == "donation_kind":
        return _answer_donation_kind(text)
    if step == "donation_date":
        return _answer_donation_date(text, donor, today)
    return Answer(error=_("Please use the buttons above to confirm or correct your details."))


def answer_choice(step: str, data_value: str) -> Answer | None:
    """Check a tapped button for a step; None when the button does not belong to this step."""
    kind, _sep, value = data_value.partition(":")
    if step == "sex" and kind == "sex" and value in SEXES:
        return Answer(fields={"sex": value})
    if step == "blood_group" and kind == "bg" and value in (*BLOOD_GROUPS, UNKNOWN_BLOOD_GROUP):
        return Answer(fields={"blood_group": value})
    if step == "donation_kind" and kind == "kind" and value in (*DONATION_KINDS, NEVER_DONATED):
        return _donation_kind_fields(value)
    if step == "donation_date" and data_value == NO_DAY:
        return Answer(
            replies=[
                Reply(
                    _(
                        "Then the month is enough: which month and year? "
                        "(e.g. 9/2026, or “tháng 9 năm nay”)"
                    )
                )
            ]
        )
    if step == "ward" and kind == "ward":
        if value == "none":
            return Answer(
                error=_("Then please type the name again, with the province (e.g. “tan dinh hcm”).")
            )
        province_code, _sep2, ward_code = value.partition(":")
        ward = get_ward(province_code, ward_code)
        if ward is not None:
            return Answer(fields={"province_code": ward.province_code, "ward_code": ward.code})
    return None


def answer_contact(step: str, phone_number: str, is_own: bool) -> Answer | None:
    """A shared contact card answers the phone step, if it is the person's own."""
    if step != "phone":
        return None
    if not is_own:
        return Answer(error=_("Please share your own number (the button below), or type it."))
    return _answer_phone(phone_number)


def answer_location(step: str, lat: float, lon: float) -> Answer | None:
    """A shared location proposes the nearest wards."""
    if step != "ward":
        return None
    wards = nearest_wards(lat, lon, limit=5)
    if not wards:
        return Answer(
            error=_("That location does not seem to be in Vietnam. Please type your ward instead.")
        )
    return Answer(replies=[_ward_choices(_("The wards nearest to you:"), wards)])


def _answer_name(text: str) -> Answer:
    """Full name: letters, spaces, hyphens; 2 to 100 characters."""
    check = clean_full_name(text)
    if check.name is not None:
        return Answer(fields={"full_name": check.name})
    if check.problem == "long":
        return Answer(error=_("That name is too long (100 characters at most)."))
    return Answer(
        error=_(
            "“{text}” does not look like a name: please use letters only, e.g. Nguyễn Văn An."
        ).format(text=_clip(text))
    )


def parse_past_date(text: str, today: date) -> tuple[date | None, str | None]:
    """A date that is not in the future, or the message explaining what is wrong."""
    try:
        value = parse_date(text, today=today)
    except DateValueError:
        return None, _("{text} is not a date. Please check the day and month.").format(
            text=_clip(text)
        )
    except DateFormatError:
        return None, _(
            "I could not read “{text}” as a date. Please write it as day/month/year, e.g. 25/08/1995."
        ).format(text=_clip(text))
    if value > today:
        return None, _("{date} is in the future. Please check the year.").format(
            date=date_label(value)
        )
    return value, None


def _answer_birth_date(text: str, today: date) -> Answer:
    """Date of birth; 16+ to register, with a note when too young or too old to donate."""
    value, error = parse_past_date(text, today)
    if value is None:
        return Answer(error=error)
    age = age_on(value, today)
    if age > MAX_PLAUSIBLE_AGE:
        return Answer(
            error=_("{date} would make you {age}. Please check the year.").format(
                date=date_label(value), age=age
            )
        )
    if age < MIN_REGISTRATION_AGE:
        return Answer(
            error=_(
                "You must be 18 to donate, and registering under 16 needs a parent or guardian. "
                "Please come back when you are 16, or type another date if this one was a mistake. "
                "(/forget deletes what you have entered.)"
            )
        )
    notes = []
    if age < MIN_DONOR_AGE:
        eighteen = nth_birthday(value, MIN_DONOR_AGE)
        notes.append(
            _(
                "You must be 18 to donate (from {date}). You can still register now to follow "
                "drives, and we will be glad to see you then."
            ).format(date=date_label(eighteen))
        )
    elif age > MAX_DONOR_AGE:
        notes.append(
            _(
                "The rules allow donating up to the age of 60 (Điều 4, Thông tư 26/2013/TT-BYT). "
                "You can still register to follow and support drives."
            )
        )
    return Answer(fields={"date_of_birth": value}, notes=notes)


def _answer_sex(text: str) -> Answer:
    """Typed sex: nam/nữ/male/female."""
    folded = fold(text)
    if folded in ("nam", "male", "m", "man"):
        return Answer(fields={"sex": "male"})
    if folded in ("nu", "female", "f", "woman"):
        return Answer(fields={"sex": "female"})
    return Answer(error=_("Please tap one of the buttons: Male or Female."))


def _answer_phone(text: str) -> Answer:
    """A Vietnamese number, stored as E.164."""
    phone = normalize_vn_phone(text)
    if phone is None:
        return Answer(
            error=_(
                "“{text}” is not a Vietnamese phone number. Expected e.g. 0912 345 678 or "
                "+84 912 345 678."
            ).format(text=_clip(text))
        )
    return Answer(fields={"phone_e164": phone})


def _answer_ward_text(text: str, data: dict[str, Any]) -> Answer:
    """Search wards, today's names first, then old addresses ("phường Bến Nghé, quận 1").

    One clear match still asks to confirm, since names repeat across provinces; an old ward
    is shown with what it became; a district alone (they no longer exist) is remembered, so
    that the next answer ("phường 1") is read inside it.
    """
    province_code = data.get("province")
    found = look_up_ward(text, province_code=province_code, district=data.get("old_district"))
    remember = {"old_district": found.district} if found.district else None
    if found.wards:
        title = "\n".join([*found.notes, _("Which one is yours?")])
        return Answer(replies=[_ward_choices(title, list(found.wards))], data=remember)
    if found.notes:
        return Answer(replies=[Reply("\n".join(found.notes))], data=remember)
    provinces = find_provinces(text, limit=1)
    if provinces:
        return Answer(
            replies=[
                Reply(
                    _("Which ward or commune in {province}? Type its name.").format(
                        province=provinces[0].name
                    )
                )
            ],
            data={"province": provinces[0].code, "old_district": None},
        )
    return Answer(
        error=_(
            "I could not find “{text}”. Please type the ward or commune name, with the province if "
            "you can (e.g. “phuong ba dinh ha noi”), or share your location."
        ).format(text=_clip(text))
    )


def _ward_choices(title: str, wards: list[Ward]) -> Reply:
    """Candidate wards as buttons, plus a way out."""
    rows = [[Button(ward.label, f"ward:{ward.province_code}:{ward.code}")] for ward in wards]
    rows.append([Button(_("None of these"), "ward:none")])
    return Reply(title, rows)


_BLOOD_TEXT = {
    "a": "A",
    "b": "B",
    "ab": "AB",
    "o": "O",
    "0": "O",
}
_RH_TEXT = {
    "+": "+",
    "-": "-",
    "duong": "+",
    "am": "-",
    "positive": "+",
    "negative": "-",
    "pos": "+",
    "neg": "-",
}


def _answer_blood_group(text: str) -> Answer:
    """Typed blood group like "O+", "AB rh-", "b duong"; "không biết" for unknown."""
    raw = unicodedata.normalize("NFC", text.strip().lower()).replace("rh", " ")
    folded = fold(raw)
    if folded in ("khong biet", "chua biet", "dont know", "don t know", "unknown", "idk"):
        return Answer(fields={"blood_group": UNKNOWN_BLOOD_GROUP})
    compact = raw.replace(" ", "")
    for sign in ("+", "-"):
        if compact.endswith(sign) and compact[:-1] in _BLOOD_TEXT:
            return Answer(fields={"blood_group": _BLOOD_TEXT[compact[:-1]] + sign})
    words = folded.split()
    if len(words) == 2 and words[0] in _BLOOD_TEXT and words[1] in _RH_TEXT:
        return Answer(fields={"blood_group": _BLOOD_TEXT[words[0]] + _RH_TEXT[words[1]]})
    return Answer(
        error=_("Please tap your blood group with its Rh sign (e.g. O+), or “I don't know”.")
    )


def _donation_kind_fields(kind: str) -> Answer:
    """The kind of the last donation; "never" clears the date."""
    if kind == NEVER_DONATED:
        return Answer(fields={"last_donation_kind": NEVER_DONATED, "last_donation_date": None})
    return Answer(fields={"last_donation_kind": kind})


def _answer_donation_kind(text: str) -> Answer:
    """Typed kind of donation."""
    folded = fold(text)
    table = {
        "mau toan phan": "whole_blood",
        "toan phan": "whole_blood",
        "whole blood": "whole_blood",
        "tieu cau": "platelets",
        "platelets": "platelets",
        "platelet": "platelets",
        "huyet tuong": "plasma",
        "plasma": "plasma",
        "chua bao gio": NEVER_DONATED,
        "chua": NEVER_DONATED,
        "never": NEVER_DONATED,
        "chua hien": NEVER_DONATED,
        "lan dau": NEVER_DONATED,
    }
    if folded in table:
        return _donation_kind_fields(table[folded])
    return Answer(error=_("Please tap one of the buttons for the kind of your last donation."))


def _answer_donation_date(text: str, donor: Donor, today: date) -> Answer:
    """Date of the last donation: past, on or after the donor's 18th birthday."""
    value, note, error = parse_last_donation(text, donor.date_of_birth, today)
    if value is None:
        return Answer(error=error)
    return Answer(fields={"last_donation_date": value}, notes=[note] if note else [])


def parse_last_donation(
    text: str, birth: date | None, today: date
) -> tuple[date | None, str | None, str | None]:
    """The last donation's date, a note saying how it was read, or the message saying what is wrong.

    A month without its day ("9/2026", "tháng 9 năm nay") is read as the month's last day (or
    today, for this month): the later date is the safe side of the waiting interval, and the note
    says so. A date before the 18th birthday (the minimum age, Điều 4 khoản 1) is refused.
    """
    note = None
    try:
        year, month = parse_month(text, today)
    except DateValueError:
        return None, None, _("{text} is not a month. Please write e.g. 9/2026.").format(
            text=_clip(text)
        )
    except DateFormatError:
        value, error = parse_past_date(text, today)
        if value is None:
            return None, None, error
    else:
        if (year, month) > (today.year, today.month):
            return None, None, _("{month} is in the future. Please check the year.").format(
                month=f"{month:02d}/{year}"
            )
        value = min(month_end(year, month), today)
        if value == today:
            note = _(
                "I noted {date} (today), the latest day it could have been, so that the waiting "
                "time is counted safely."
            ).format(date=date_label(value))
        else:
            note = _(
                "I noted {date}, the last day of that month, so that the waiting time is "
                "counted safely."
            ).format(date=date_label(value))
    if value.year < today.year - (MAX_PLAUSIBLE_AGE - MIN_DONOR_AGE):
        return None, None, _("{date} is too long ago. Please check the year.").format(
            date=date_label(value)
        )
    if birth and value < nth_birthday(birth, MIN_DONOR_AGE):
        return None, None, _(
            "{date} is before your 18th birthday ({birthday}), and donors must be 18 "
            "(Điều 4, Thông tư 26/2013/TT-BYT). Please check the date."
        ).format(date=date_label(value), birthday=date_label(nth_birthday(birth, MIN_DONOR_AGE)))
    return value, note, None


def _clip(text: str, limit: int = 40) -> str:
    """Quote at most `limit` characters of what the person typed."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclasses.dataclass(frozen=True)
class EditField(ButtonData, kind="edit"):
    """Change one field of the profile (a key of EDITABLE)."""

    field: str
