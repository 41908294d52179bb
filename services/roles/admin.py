"""The role commands as typed in the bot: /grant, /revoke, /roles, /whoami; and polite refusals.

Channel-neutral (no Telegram import): each command takes the words after it and answers with
`Reply`s. Who may do what is decided in services/roles.py; this module parses, names provinces and
wards for people, and explains refusals with who can help.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor
from services.conversation.dialog import Notice, Outcome, Reply
from services.core.i18n import N_, _
from services.core.text import compact
from services.knowledge.wards import Province, find_provinces, get_province, get_ward, search_wards
from services.roles import access
from services.roles.access import (
    Action,
    Actor,
    GrantView,
    InvalidRequest,
    PermissionDenied,
    Role,
    shown,
)
from services.roles.refusals import refuse, ward_names

MAX_REPLY_CHARS = 3500  # Telegram allows 4,096 per message; keep room
MAX_USER_ID_DIGITS = 20
MAX_PROVINCE_WORDS = 4  # "Thành phố Hồ Chí Minh"
SHOWN_GRANT_WARDS = 30  # in a grant's answer and notice (a club may cover hundreds)
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"'})


# --- refusals ---------------------------------------------------------------------------------


def _refused(denied: PermissionDenied) -> list[Reply]:
    """The refusal for a PermissionDenied raised by services.roles."""
    return [refuse(denied.action, denied.province_code, denied.ward_codes)]


# --- parsing ----------------------------------------------------------------------------------


def _split(args: list[str]) -> list[str]:
    """The words, with "double-quoted phrases" kept whole (curly quotes too)."""
    text = " ".join(args).translate(_QUOTES)
    lexer = shlex.shlex(text, posix=True)
    lexer.whitespace_split = True
    lexer.quotes = '"'
    lexer.escape = ""
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote: read it as plain words
        return text.replace('"', " ").split()


def _user_id(token: str) -> str:
    """A numeric user id ("123456789"), or InvalidRequest."""
    value = token.strip()
    if not value.isascii() or not value.isdigit() or len(value) > MAX_USER_ID_DIGITS:
        raise InvalidRequest(
            N_(
                "“{value}” is not a user id: it is a number such as 123456789. The person "
                "sees theirs by sending /whoami to the bot."
            ),
            value=shown(token),
        )
    number = int(value)
    if number <= 0:
        raise InvalidRequest(N_("“{value}” is not a valid user id."), value=shown(token))
    return str(number)


def _exact_province(text: str) -> Province | None:
    """The province whose name (with or without "TP."/"tỉnh", diacritics) is exactly `text`."""
    key = compact(text)
    if not key:
        return None
    for province in find_provinces(text, limit=3):
        names = {compact(province.name), compact(province.short_name)}
        names |= {prefix + compact(province.short_name) for prefix in ("tp", "tinh", "thanhpho")}
        if key in names:
            return province
    return None


def _province(text: str) -> Province:
    """A province by code ("01", "1") or name ("Hà Nội", "ha noi", "hcm"), or InvalidRequest."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        province = get_province(text.zfill(2))
        if province is None:
            raise InvalidRequest(N_("There is no province with code “{code}”."), code=shown(text))
        return province
    exact = _exact_province(text)
    if exact is not None:
        return exact
    found = find_provinces(text, limit=4)
    if len(found) == 1:
        return found[0]
    if not found:
        raise InvalidRequest(
            N_(
                "I do not know the province “{name}”. Give its code (01 for Hà Nội, 79 for "
                "Hồ Chí Minh…) or its name."
            ),
            name=shown(text),
        )
    choices = ", ".join(f"{p.label} ({p.code})" for p in found)
    raise InvalidRequest(
        N_("“{name}” could be {choices}. Give the province's code."),
        name=shown(text),
        choices=choices,
    )


def _take_province(words: list[str]) -> tuple[Province, list[str]]:
    """The province at the start of `words` (one word, quoted, or an exact name) and the rest."""
    for size in range(min(MAX_PROVINCE_WORDS, len(words) - 2), 1, -1):
        exact = _exact_province(" ".join(words[:size]))
        if exact is not None:
            return exact, words[size:]
    return _province(words[0]), words[1:]


def _exact_ward(item: str, province: Province) -> str | None:
    """The code of the one ward of the province with exactly this code or name, else None."""
    item = item.strip()
    if item.isascii() and item.isdigit():
        ward = get_ward(province.code, item.zfill(5))
        return ward.code if ward else None
    key = compact(item)
    found = search_wards(item, province_code=province.code, limit=5)
    exact = [w for w in found if key in (compact(w.short_name), compact(w.name))]
    return exact[0].code if len(exact) == 1 else None


def _take_wards(words: list[str], province: Province) -> tuple[list[str], list[str]]:
    """The ward codes at the start of `words` (one word, quoted, or exact names) and the rest."""
    for size in range(len(words) - 1, 1, -1):  # "Ba Đình, Ngọc Hà CLB …" typed without quotes
        items = [item for item in " ".join(words[:size]).split(",") if item.strip()]
        codes = [_exact_ward(item, province) for item in items]
        if items and all(code is not None for code in codes):
            return [code for code in codes if code is not None], words[size:]
    return [_ward_code(item, province) for item in words[0].split(",") if item.strip()], words[1:]


def _ward_code(item: str, province: Province) -> str:
    """A ward of the province by code ("4", "00004") or unambiguous name, or InvalidRequest."""
    item = item.strip()
    if item.isascii() and item.isdigit():
        return item.zfill(5)  # services.roles checks it belongs to the province
    found = search_wards(item, province_code=province.code, limit=5)
    key = compact(item)
    exact = [w for w in found if key in (compact(w.short_name), compact(w.name))]
    if len(exact) == 1:
        return exact[0].code
    if len(found) == 1:
        return found[0].code
    if not found:
        raise InvalidRequest(
            N_("There is no ward “{name}” in {province}. Give its code or its full name."),
            name=shown(item),
            province=province.label,
        )
    choices = ", ".join(f"{w.name} ({w.code})" for w in (exact or found))
    raise InvalidRequest(
        N_("“{name}” could be {choices} in {province}. Give the ward's code."),
        name=shown(item),
        choices=choices,
        province=province.label,
    )


def _province_label(code: str) -> str:
    """The province's label ("TP. Hà Nội" for "01"); the code itself if unknown."""
    province = get_province(code)
    return province.label if province else code


# --- /grant -----------------------------------------------------------------------------------


def grant_usage() -> Reply:
    """How to type /grant."""
    return Reply(
        _(
            "To grant a role:\n"
            "/grant staff <user id> <province>\n"
            "/grant leader <user id> <province> <ward,ward,…> <club name>\n"
            "\n"
            "The province by code (01) or name (hanoi, “Hà Nội”); the wards by code (00004) or "
            "name, separated by commas, with quotes around names with spaces: "
            "“Ba Đình, Ngọc Hà”. The person sees their user id by sending /whoami to the bot.\n"
            "Example: /grant leader 123456789 01 “Ba Đình, Ngọc Hà” CLB Hiến máu Ba Đình"
        )
    )


async def grant(session: AsyncSession, actor: Actor, args: list[str]) -> Outcome:
    """/grant staff|leader …: give someone a role within the caller's scope; the same /grant
    again (a repeat after a crash) says the role is already in place."""
    words = _split(args)
    kind = words[0].lower() if words else ""
    if not (actor.is_admin or actor.is_staff):
        return Outcome([refuse(Action.GRANT_STAFF if kind == Role.STAFF else Action.GRANT_LEADER)])
    if kind == Role.STAFF and not actor.is_admin:
        return Outcome([refuse(Action.GRANT_STAFF)])
    try:
        if kind == Role.STAFF and len(words) >= 3:
            user_id = _user_id(words[1])
            province = _province(" ".join(words[2:]))
            view = await access.grant_staff(session, actor, actor.channel, user_id, province.code)
        elif kind == Role.LEADER and len(words) >= 5:
            user_id = _user_id(words[1])
            province, rest = _take_province(words[2:])
            if len(rest) < 2:
                return Outcome([grant_usage()])
            codes, club = _take_wards(rest, province)
            view = await access.grant_leader(
                session, actor, actor.channel, user_id, province.code, codes, " ".join(club)
            )
        else:
            return Outcome([grant_usage()])
    except InvalidRequest as error:
        return Outcome([Reply(error.text())])
    except PermissionDenied as denied:
        return Outcome(_refused(denied))
    person = await _person(session, view)
    if view.already:
        return Outcome([Reply(_already_granted(view, person))])
    notice = await _notice(session, actor, view, granted=True)
    reply = Reply(_granted(view, person) + "\n" + _told(notice is not None, granted=True))
    return Outcome([reply], notices=[notice] if notice else [])


def _granted(view: GrantView, person: str) -> str:
    """ "Done (#3): … is now …"."""
    province = _province_label(view.province_code)
    if view.role == Role.STAFF:
        return _(
            "Done (#{id}): {person} is now steering-committee staff of {province}. "
            "They can check with /whoami."
        ).format(id=view.id, person=person, province=province)
    return _(
        "Done (#{id}): {person} now leads {club} for {wards} ({province}). "
        "They can check with /whoami."
    ).format(
        id=view.id,
        person=person,
        club=view.club_name,
        wards=ward_names(view.province_code, view.ward_codes, SHOWN_GRANT_WARDS),
        province=province,
    )


def _already_granted(view: GrantView, person: str) -> str:
    """The same grant asked for again: it is in place, nothing to do."""
    province = _province_label(view.province_code)
    if view.role == Role.STAFF:
        return _(
            "Already in place (#{id}): {person} is steering-committee staff of {province}. "
            "Nothing needed changing."
        ).format(id=view.id, person=person, province=province)
    return _(
        "Already in place (#{id}): {person} leads {club} for {wards} ({province}). "
        "Nothing needed changing."
    ).format(
        id=view.id,
        person=person,
        club=view.club_name,
        wards=ward_names(view.province_code, view.ward_codes, SHOWN_GRANT_WARDS),
        province=province,
    )


def _told(told: bool, granted: bool) -> str:
    """Whether the person was told in the bot."""
    if told:
        return _("They have been told in the bot.")
    if granted:
        return _(
            "They have not talked to the bot yet, so they could not be told: ask them to send "
            "/start to the bot."
        )
    return _("They could not be told in the bot.")


async def _notice(
    session: AsyncSession, by: Actor, view: GrantView, granted: bool
) -> Notice | None:
    """The message to the person about their new or ended role, in their language, for their
    private chat; None when the bot cannot reach them."""
    donor = (
        await session.exec(
            select(Donor).where(
                col(Donor.channel) == view.channel, col(Donor.external_id) == view.external_id
            )
        )
    ).first()
    if donor is None or donor.stopped_at is not None:
        return None

    def message(_donor: Donor) -> Reply:
        """In their language."""
        return Reply(role_notice(view, granted))

    kind = "role_granted" if granted else "role_revoked"
    return Notice(donor, message, kind=kind, author=by.label)


def role_notice(view: GrantView, granted: bool) -> str:
    """What the person is told: the role, and what they can do now."""
    province = _province_label(view.province_code)
    if granted and view.role == Role.STAFF:
        return _(
            "🎖 You are now steering-committee staff of {province} in the blood donation bot. "
            "You can now announce and manage drives (/newdrive, /mydrives), write to donors "
            "(/broadcast, /urgent) and appoint club leaders (/grant, /revoke, /roles) in the "
            "province. /whoami shows your roles."
        ).format(province=province)
    if granted:
        return _(
            "🎖 You now lead {club} for {wards} ({province}) in the blood donation bot. You "
            "can now announce and manage drives (/newdrive, /mydrives) and write to the donors "
            "of these wards (/broadcast, /urgent). /whoami shows your roles."
        ).format(
            club=view.club_name or "",
            wards=ward_names(view.province_code, view.ward_codes, SHOWN_GRANT_WARDS),
            province=province,
        )
    if view.role == Role.STAFF:
        return _(
            "Your role as steering-committee staff of {province} in the blood donation bot "
            "has ended. Thank you for your help! /whoami shows what you may do now."
        ).format(province=province)
    return _(
        "Your role as leader of {club} ({province}) in the blood donation bot has ended. "
        "Thank you for your help! /whoami shows what you may do now."
    ).format(club=view.club_name or "", province=province)


# --- /revoke ----------------------------------------------------------------------------------


def revoke_usage() -> Reply:
    """How to type /revoke."""
    return Reply(_("To remove a role: /revoke <number>, the number shown by /roles."))


async def revoke(session: AsyncSession, actor: Actor, args: list[str], tz: ZoneInfo) -> Outcome:
    """/revoke <number>: remove a grant within the caller's scope; the same /revoke again
    says it was already done."""
    if not (actor.is_admin or actor.is_staff):
        return Outcome([refuse(Action.REVOKE)])
    words = _split(args)
    number = words[0].lstrip("#") if len(words) == 1 else ""
    if not (number.isascii() and number.isdigit()) or len(number) > 18:
        return Outcome([revoke_usage()])
    try:
        view = await access.revoke(session, actor, int(number))
    except InvalidRequest as error:
        return Outcome([Reply(error.text())])
    except PermissionDenied as denied:
        return Outcome(_refused(denied))
    province = _province_label(view.province_code)
    person = await _person(session, view)
    if view.already:
        day = view.removed_at.astimezone(tz).strftime("%d/%m/%Y") if view.removed_at else ""
        if view.role == Role.STAFF:
            text = _(
                "Already done: #{id} was removed on {date}. {person} is no longer "
                "steering-committee staff of {province}."
            )
        else:
            text = _(
                "Already done: #{id} was removed on {date}. {person} no longer leads {club} "
                "({province})."
            )
        return Outcome(
            [
                Reply(
                    text.format(
                        id=view.id,
                        date=day,
                        person=person,
                        club=view.club_name or "",
                        province=province,
                    )
                )
            ]
        )
    if view.role == Role.STAFF:
        text = _(
            "Done: #{id} removed. {person} is no longer steering-committee staff of {province}."
        ).format(id=view.id, person=person, province=province)
    else:
        text = _("Done: #{id} removed. {person} no longer leads {club} ({province}).").format(
            id=view.id, person=person, club=view.club_name or "", province=province
        )
    notice = await _notice(session, actor, view, granted=False)
    reply = Reply(text + "\n" + _told(notice is not None, granted=False))
    return Outcome([reply], notices=[notice] if notice else [])


# --- /roles -----------------------------------------------------------------------------------


async def _names(session: AsyncSession, labels: Iterable[str]) -> dict[str, str]:
    """The registered full names of people given as "telegram:123" (staff see who holds a role
    in their province; nobody else reaches this)."""
    pairs = {tuple(label.split(":", 1)) for label in labels if ":" in label}
    ids = sorted({external_id for _channel, external_id in pairs})
    if not ids:
        return {}
    names: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        rows = await session.exec(
            select(Donor.channel, Donor.external_id, Donor.full_name).where(
                col(Donor.external_id).in_(ids[start : start + 500]),
                col(Donor.registered_at).is_not(None),
                col(Donor.full_name).is_not(None),
            )
        )
        for channel, external_id, full_name in rows.all():
            if (channel, external_id) in pairs and full_name:
                names[f"{channel}:{external_id}"] = full_name
    return names


def _named(label: str, names: dict[str, str]) -> str:
    """ "Nguyễn Văn An (telegram:300)", or the bare label when the person is not registered."""
    name = names.get(label)
    return f"{name} ({label})" if name else label


async def _person(session: AsyncSession, view: GrantView) -> str:
    """The grantee with their registered name, when they have one."""
    return _named(view.person, await _names(session, [view.person]))


def _grant_line(view: GrantView, names: dict[str, str], tz: ZoneInfo) -> str:
    """One grant as a line of /roles."""
    province = _province_label(view.province_code)
    day = view.granted_at.astimezone(tz).strftime("%d/%m/%Y") if view.granted_at else ""
    person, by = _named(view.person, names), _named(view.granted_by, names)
    if view.role == Role.STAFF:
        return _("#{id} staff of {province}: {person}, by {by} on {date}").format(
            id=view.id, province=province, person=person, by=by, date=day
        )
    return _("#{id} leader of {club} ({province}: {wards}): {person}, by {by} on {date}").format(
        id=view.id,
        club=view.club_name or "",
        province=province,
        wards=ward_names(view.province_code, view.ward_codes),
        person=person,
        by=by,
        date=day,
    )


def _chunked(lines: list[str]) -> list[Reply]:
    """Lines packed into as few messages as fit the channel's size limit."""
    replies: list[Reply] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > MAX_REPLY_CHARS:
            replies.append(Reply(current))
            current = ""
        current = f"{current}\n{line}" if current else line[:MAX_REPLY_CHARS]
    if current:
        replies.append(Reply(current))
    return replies


async def list_roles(session: AsyncSession, actor: Actor, args: list[str], tz: ZoneInfo) -> Outcome:
    """/roles: the grants the caller may see, with their numbers and the holders' names."""
    try:
        views = await access.list_grants(session, actor)
    except PermissionDenied as denied:
        return Outcome(_refused(denied))
    where = ", ".join(_province_label(code) for code in sorted(actor.staff_provinces))
    if not views:
        if actor.is_admin:
            return Outcome([Reply(_("No roles have been granted yet. /grant gives one."))])
        return Outcome(
            [
                Reply(
                    _("No roles have been granted in {provinces} yet. /grant gives one.").format(
                        provinces=where
                    )
                )
            ]
        )
    if actor.is_admin:
        header = _("Roles granted: {count}").format(count=len(views))
    else:
        header = _("Roles granted in {provinces}: {count}").format(
            provinces=where, count=len(views)
        )
    footer = _("To remove one: /revoke <number>.")
    names = await _names(session, [label for v in views for label in (v.person, v.granted_by)])
    return Outcome(_chunked([header, "", *(_grant_line(v, names, tz) for v in views), "", footer]))


# --- /whoami ----------------------------------------------------------------------------------


async def whoami(session: AsyncSession, actor: Actor, args: list[str]) -> Outcome:
    """/whoami: the caller's user id and what they may do."""
    lines = [_("Your user id: {id}").format(id=actor.external_id)]
    if actor.is_admin:
        lines.append(_("You are an administrator of the bot: you may do everything, everywhere."))
    for code in sorted(actor.staff_provinces):
        lines.append(
            _(
                "Steering-committee staff of {province}: drives, messages to donors, statistics "
                "and club leaders of the province."
            ).format(province=_province_label(code))
        )
    for scope in actor.leader_scopes:
        lines.append(
            _(
                "Leader of {club} (#{id}) for {wards}, {province}: drives and messages to the "
                "donors of these wards."
            ).format(
                club=scope.club_name,
                id=scope.grant_id,
                wards=ward_names(scope.province_code, scope.ward_codes),
                province=_province_label(scope.province_code),
            )
        )
    if actor.is_privileged:
        lines.append(_("Figures and the year's plan: /stats."))
    if actor.is_admin or actor.is_staff:
        lines.append(_("Role commands: /grant, /revoke, /roles."))
    if not actor.is_privileged:
        lines.append(
            _(
                "You have no special role. Club leaders and staff are appointed by the "
                "steering committee: if you were asked to help, send them your user id."
            )
        )
    return Outcome(_chunked(lines))
