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


def path(donor: Donor) -> list[str]:
    """The questions in order, then the summary (no donation date for someone who never gave)."""
    never = donor.last_donation_kind == NEVER_DONATED
    return [step for step in STEPS if not (never and step == "donation_date")] + [CONFIRM]


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


# ---------------------------------------------------------------- buttons


@dataclass(frozen=True)
class SexButton(ButtonData, kind="sex"):
    """The sex step's choice: "sex:{code}"."""

    code: str


@dataclass(frozen=True)
class BloodGroupButton(ButtonData, kind="bg"):
    """The blood group step's choice: "bg:{group}"."""

    code: str


@dataclass(frozen=True)
class DonationKindButton(ButtonData, kind="kind"):
    """The last donation's kind ("kind:{code}"), and the date step's "kind:no_day"."""

    code: str


@dataclass(frozen=True)
class WardButton(ButtonData, kind="ward"):
    """A candidate ward ("ward:{province}:{ward}"), or "ward:none"."""

    province_code: str
    ward_code: str = ""


@dataclass(frozen=True)
class ConfirmButton(ButtonData, kind="confirm"):
    """The summary's confirmation: "confirm"."""


# The last donation step's "I don't remember the day" button. It carries the "kind" prefix so the
# registration flow, which answers "kind:" buttons, routes it here.
NO_DAY = DonationKindButton("no_day").encode()


# ---------------------------------------------------------------- prompts


def ask_name() -> Reply:
    """The name question."""
    return Reply(_("What is your full name? (as on your ID card, e.g. Nguyễn Văn An)"))


def ask_birth_date() -> Reply:
    """The birth date question."""
    return Reply(_("What is your date of birth? (e.g. 25/08/1995)"))


def ask_sex() -> Reply:
    """The sex question, with its buttons."""
    buttons = [[SexButton(code).button(sex_label(code)) for code in SEXES]]
    return Reply(_("Your sex? (weight and volume limits differ for men and women)"), buttons)


def ask_phone() -> Reply:
    """The phone question, with the share button."""
    return Reply(
        _("Your phone number? Tap the button below to share it, or type it (e.g. 0912 345 678)."),
        keyboard=Keyboard.CONTACT,
        keyboard_label=_("📱 Share my phone number"),
    )


def ask_ward(province_code: str | None) -> Reply:
    """The ward question (inside a province once one was typed), with the location button."""
    province = get_province(province_code) if province_code else None
    if province is not None:
        text = _("Which ward or commune in {province}? Type its name.").format(
            province=province.name
        )
    else:
        text = _(
            "Where do you live? Type your ward or commune, and the province if you like "
            "(e.g. “phuong sai gon”, “ha dong hn”), or tap the button to share your location."
        )
    return Reply(text, keyboard=Keyboard.LOCATION, keyboard_label=_("📍 Share my location"))


def ask_blood_group() -> Reply:
    """The blood group question, with its buttons."""
    rows = [
        [BloodGroupButton(code).button(code) for code in BLOOD_GROUPS[:4]],
        [BloodGroupButton(code).button(code) for code in BLOOD_GROUPS[4:]],
        [BloodGroupButton(UNKNOWN_BLOOD_GROUP).button(blood_group_label(UNKNOWN_BLOOD_GROUP))],
    ]
    return Reply(_("Your blood group?"), rows)


def ask_donation_kind() -> Reply:
    """The last donation's kind, with its buttons."""
    codes = (*DONATION_KINDS, NEVER_DONATED)
    rows = [[DonationKindButton(code).button(donation_kind_label(code))] for code in codes]
    return Reply(_("When did you last give blood? First, what kind of donation was it?"), rows)


def ask_donation_date() -> Reply:
    """The last donation's date, with "I don't remember the day"."""
    return Reply(
        _("On what date was your last donation? (e.g. 15/03/2026)"),
        [[Button(_("I don't remember the day"), NO_DAY)]],
    )


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
    return Reply(text, [[ConfirmButton().button(_("✅ Confirm"))], *edit_buttons()])


# ---------------------------------------------------------------- answers


def answer_sex_button(tapped: SexButton) -> Answer | None:
    """A tapped sex."""
    return Answer(fields={"sex": tapped.code}) if tapped.code in SEXES else None


def answer_blood_group_button(tapped: BloodGroupButton) -> Answer | None:
    """A tapped blood group."""
    if tapped.code not in (*BLOOD_GROUPS, UNKNOWN_BLOOD_GROUP):
        return None
    return Answer(fields={"blood_group": tapped.code})


def answer_donation_kind_button(tapped: DonationKindButton) -> Answer | None:
    """A tapped kind of last donation (not the date step's "no_day")."""
    if tapped.code not in (*DONATION_KINDS, NEVER_DONATED):
        return None
    return _donation_kind_fields(tapped.code)


def answer_donation_date_button(tapped: DonationKindButton) -> Answer | None:
    """ "I don't remember the day": then the month is enough."""
    if tapped.encode() != NO_DAY:
        return None
    month = _("Then the month is enough: which month and year? (e.g. 9/2026, or “tháng 9 năm nay”)")
    return Answer(replies=[Reply(month)])


def answer_ward_button(tapped: WardButton) -> Answer | None:
    """A picked candidate ward, or "none of these"."""
    if tapped.province_code == "none" and not tapped.ward_code:
        return Answer(
            error=_("Then please type the name again, with the province (e.g. “tan dinh hcm”).")
        )
    ward = get_ward(tapped.province_code, tapped.ward_code)
    if ward is None:
        return None
    return Answer(fields={"province_code": ward.province_code, "ward_code": ward.code})


def answer_contact(phone_number: str, is_own: bool) -> Answer:
    """A shared contact card answers the phone step, if it is the person's own."""
    if not is_own:
        return Answer(error=_("Please share your own number (the button below), or type it."))
    return answer_phone(phone_number)


def answer_location(lat: float, lon: float) -> Answer:
    """A shared location proposes the nearest wards."""
    wards = nearest_wards(lat, lon, limit=5)
    if not wards:
        return Answer(
            error=_("That location does not seem to be in Vietnam. Please type your ward instead.")
        )
    return Answer(replies=[_ward_choices(_("The wards nearest to you:"), wards)])


def answer_name(text: str) -> Answer:
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


def answer_birth_date(text: str, today: date) -> Answer:
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


def answer_sex(text: str) -> Answer:
    """Typed sex: nam/nữ/male/female."""
    folded = fold(text)
    if folded in ("nam", "male", "m", "man"):
        return Answer(fields={"sex": "male"})
    if folded in ("nu", "female", "f", "woman"):
        return Answer(fields={"sex": "female"})
    return Answer(error=_("Please tap one of the buttons: Male or Female."))


def answer_phone(text: str) -> Answer:
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


def answer_ward_text(text: str, province_code: str | None, old_district: str | None) -> Answer:
    """Search wards, today's names first, then old addresses ("phường Bến Nghé, quận 1").

    One clear match still asks to confirm, since names repeat across provinces; an old ward
    is shown with what it became; a district alone (they no longer exist) is remembered, so
    that the next answer ("phường 1") is read inside it.
    """
    found = look_up_ward(text, province_code=province_code, district=old_district)
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
    rows = [[WardButton(ward.province_code, ward.code).button(ward.label)] for ward in wards]
    rows.append([WardButton("none").button(_("None of these"))])
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


def answer_blood_group(text: str) -> Answer:
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


def answer_donation_kind(text: str) -> Answer:
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


def answer_donation_date(text: str, donor: Donor, today: date) -> Answer:
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
