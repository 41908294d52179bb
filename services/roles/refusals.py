"""The one refusal: one wording per privileged action, saying who can help."""

from __future__ import annotations

from collections.abc import Iterable

from services.conversation.dialog import Reply
from services.core.i18n import N_, _
from services.knowledge.wards import get_province, get_ward
from services.roles.access import ADMIN_ONLY_ACTIONS, LEADER_ACTIONS, Action

SHOWN_WARDS = 5  # in a refusal, name this many wards at most

# What each privileged action is, for "Sorry, {what} is only for …".
ACTION_LABELS: dict[Action, str] = {
    Action.CREATE_DRIVE: N_("announcing a blood drive"),
    Action.EDIT_DRIVE: N_("changing a blood drive"),
    Action.CANCEL_DRIVE: N_("cancelling a blood drive"),
    Action.BROADCAST: N_("sending a message to donors"),
    Action.URGENT: N_("an urgent call for donors"),
    Action.VIEW_STATS: N_("viewing statistics"),
    Action.UPLOAD_PLAN: N_("uploading the year's plan"),
    Action.GRANT_LEADER: N_("appointing club leaders"),
    Action.GRANT_STAFF: N_("appointing or removing steering-committee staff"),
    Action.REVOKE: N_("removing roles"),
    Action.LIST_ROLES: N_("seeing who holds roles"),
    Action.CHECK_IN: N_("checking donors in at a blood drive"),
    Action.VIEW_SIGNUPS: N_("seeing who signed up for a blood drive"),
}


def refuse(
    action: Action, province_code: str | None = None, ward_codes: Iterable[str] = ()
) -> Reply:
    """A polite refusal for `action` (in a province, for wards) that says who can help."""
    what = _(ACTION_LABELS[action])
    province = get_province(province_code) if province_code else None
    if action in ADMIN_ONLY_ACTIONS:
        text = _(
            "Sorry, {what} is only for the bot's administrators. Please contact them through "
            "your province's Red Cross office."
        ).format(what=what)
    elif action in LEADER_ACTIONS:
        wards = ward_names(province.code, ward_codes, SHOWN_WARDS) if province else ""
        if province and wards:
            text = _(
                "Sorry, {what} is only for the club leaders of {wards} and the "
                "steering-committee staff of {province}. Please ask your ward's Red Cross or "
                "Youth Union club, or the steering committee's staff."
            ).format(what=what, wards=wards, province=province.label)
        elif province:
            text = _(
                "Sorry, {what} in {province} is only for its club leaders and "
                "steering-committee staff. Please ask your ward's Red Cross or Youth Union "
                "club, or the steering committee's staff."
            ).format(what=what, province=province.label)
        else:
            text = _(
                "Sorry, {what} is only for club leaders and steering-committee staff. Please "
                "ask your ward's Red Cross or Youth Union club, or the steering committee's staff."
            ).format(what=what)
    elif province:
        text = _(
            "Sorry, {what} in {province} is only for administrators and the province's "
            "steering-committee staff. Please contact the Red Cross office of {province} or "
            "the bot's administrator."
        ).format(what=what, province=province.label)
    else:
        text = _(
            "Sorry, {what} is only for administrators and steering-committee staff. Please "
            "contact your province's Red Cross office or the bot's administrator."
        ).format(what=what)
    return Reply(text, refused=action.value)


def ward_names(province_code: str, ward_codes: Iterable[str], limit: int | None = None) -> str:
    """Ward names, "Phường Ba Đình, Phường Ngọc Hà"; a code that is no ward there as it is."""
    codes = sorted(set(ward_codes))
    names = []
    for code in codes[:limit] if limit else codes:
        ward = get_ward(province_code, code)
        names.append(ward.name if ward else code)
    if limit and len(codes) > limit:
        names.append("…")
    return ", ".join(names)
