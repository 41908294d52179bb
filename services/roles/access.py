"""Who may do what: roles (admin, staff of a province, club leader of wards), checks, grants, audit.

Channel-neutral (no Telegram import). The permission rule lives in one pure function, `allowed`;
grants and revocations are plain CRUD that check it and write an audit row in the same transaction.
Admins are not stored: they are the Telegram ids of the ADMIN_TELEGRAM_IDS setting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditEntry, RoleGrant, RoleWard
from models.roles import Role
from services.conversation.actor import Actor, LeaderScope
from services.core.i18n import N_, _
from services.knowledge.wards import get_province, get_ward, provinces

ADMIN_CHANNEL = "telegram"  # ADMIN_TELEGRAM_IDS are Telegram accounts
MAX_EXTERNAL_ID = 40
MAX_CLUB_NAME = 120  # role_grants.club_name
MAX_SCOPE = 120  # audit_log.scope
MAX_ID = 2**31 - 1  # an INTEGER primary key on PostgreSQL
SHOWN_INPUT = 40  # a typed value is echoed back at most this long


class Action(StrEnum):
    """Every privileged action; the value is what the audit log records."""

    CREATE_DRIVE = "create_drive"
    EDIT_DRIVE = "edit_drive"
    CANCEL_DRIVE = "cancel_drive"
    BROADCAST = "broadcast"
    URGENT = "urgent"
    VIEW_STATS = "view_stats"
    UPLOAD_PLAN = "upload_plan"
    GRANT_LEADER = "grant_leader"
    GRANT_STAFF = "grant_staff"
    REVOKE = "revoke"
    LIST_ROLES = "list_roles"
    CHECK_IN = "check_in"  # record who donated, was deferred or did not come at a drive
    VIEW_SIGNUPS = "view_signups"  # see or export a drive's sign-up list (names, phones)


class AuditEvent(StrEnum):
    """What the audit log records besides privileged actions: things anyone may do."""

    FORGET = "forget"  # a person's data deleted on their request
    WALK_IN_TAKEN = "walk_in_taken"  # a walk-in's check-in taken into their record by its link


# What a club leader may do, and only for their own wards.
LEADER_ACTIONS = frozenset(
    {
        Action.CREATE_DRIVE,
        Action.EDIT_DRIVE,
        Action.CANCEL_DRIVE,
        Action.BROADCAST,
        Action.URGENT,
        Action.VIEW_STATS,
        Action.CHECK_IN,
        Action.VIEW_SIGNUPS,
    }
)
# At a drive's desk the clubs of its wards work together: leading one of them is enough.
ANY_WARD_ACTIONS = frozenset({Action.CHECK_IN, Action.VIEW_SIGNUPS})
# What even staff may not do in their own province.
ADMIN_ONLY_ACTIONS = frozenset({Action.GRANT_STAFF})


@dataclass(frozen=True)
class GrantView:
    """A stored grant with its wards, as listed and returned by the CRUD functions."""

    id: int
    channel: str
    external_id: str
    role: Role
    province_code: str
    club_name: str | None = None
    ward_codes: tuple[str, ...] = ()
    granted_by: str = ""
    granted_at: datetime | None = None
    # A repeated request found this grant already in place (or, for a revoke, already gone).
    already: bool = False
    removed_at: datetime | None = None

    @property
    def person(self) -> str:
        """The grantee as "telegram:456"."""
        return f"{self.channel}:{self.external_id}"

    @property
    def scope(self) -> str:
        """The grant's scope as the audit log writes it."""
        return scope_label(self.province_code, self.ward_codes)


class PermissionDenied(Exception):
    """The actor may not do this here; render it with services.admin.refuse."""

    def __init__(
        self,
        action: Action,
        province_code: str | None = None,
        ward_codes: Iterable[str] = (),
        reason: str = "",
    ) -> None:
        self.action = action
        self.province_code = province_code
        self.ward_codes = tuple(sorted(set(ward_codes)))
        self.reason = reason or f"{action} not allowed in {scope_label(province_code, ())}"
        super().__init__(self.reason)


class InvalidRequest(ValueError):
    """Bad input; `text()` is the user-facing explanation in the current locale."""

    def __init__(self, message_id: str, **params: Any) -> None:
        self.message_id = message_id
        self.params = params
        super().__init__(message_id.format(**params))

    def text(self) -> str:
        """The message, translated."""
        return _(self.message_id).format(**self.params)


def shown(text: object) -> str:
    """A typed value as an answer echoes it: shortened, so a pasted page does not come back
    (Telegram refuses a message over 4,096 characters)."""
    value = " ".join(str(text).split())
    return value if len(value) <= SHOWN_INPUT else value[: SHOWN_INPUT - 1] + "…"


# --- the permission rule ----------------------------------------------------------------------


def allowed(
    actor: Actor, action: Action, province_code: str | None, ward_codes: Iterable[str] = ()
) -> bool:
    """May `actor` do `action` in this province (None: nationwide) for these wards?"""
    if actor.is_admin:
        return True
    if province_code is None:
        return False
    wards = frozenset(ward_codes)
    if any(get_ward(province_code, code) is None for code in wards):
        return False  # a ward of another province is nobody's scope but an admin's
    if province_code in actor.staff_provinces:
        return action not in ADMIN_ONLY_ACTIONS
    if action in LEADER_ACTIONS and wards:
        mine = actor.leader_wards(province_code)
        return bool(wards & mine) if action in ANY_WARD_ACTIONS else wards <= mine
    return False


def check(
    actor: Actor, action: Action, province_code: str | None, ward_codes: Iterable[str] = ()
) -> None:
    """Raise PermissionDenied unless `allowed`."""
    wards = tuple(ward_codes)
    if not allowed(actor, action, province_code, wards):
        raise PermissionDenied(action, province_code, wards)


def wards_in_scope(actor: Actor, province_code: str) -> frozenset[str] | None:
    """The wards of a province a picker should offer: None means all of them."""
    if actor.is_admin or province_code in actor.staff_provinces:
        return None
    return actor.leader_wards(province_code)


def provinces_in_scope(actor: Actor) -> frozenset[str] | None:
    """The provinces the actor acts in at all: None means every province."""
    if actor.is_admin:
        return None
    return actor.staff_provinces | {s.province_code for s in actor.leader_scopes}


# --- loading ----------------------------------------------------------------------------------


async def load_actor(
    session: AsyncSession, channel: str, external_id: str, admin_ids: frozenset[str]
) -> Actor:
    """The person's roles: admin from the setting, staff and leader from role_grants."""
    grants = (
        await session.exec(
            select(RoleGrant)
            .where(RoleGrant.channel == channel, RoleGrant.external_id == external_id)
            .order_by(col(RoleGrant.id))
        )
    ).all()
    wards = await _wards_of(session, [g.id for g in grants if g.role == Role.LEADER and g.id])
    staff = frozenset(g.province_code for g in grants if g.role == Role.STAFF)
    leading = tuple(
        LeaderScope(g.id, g.club_name or "", g.province_code, frozenset(wards.get(g.id, ())))
        for g in grants
        if g.role == Role.LEADER and g.id is not None
    )
    return Actor(
        channel=channel,
        external_id=external_id,
        is_admin=channel == ADMIN_CHANNEL and external_id in admin_ids,
        staff_provinces=staff,
        leader_scopes=leading,
    )


async def _wards_of(session: AsyncSession, grant_ids: list[int]) -> dict[int, list[str]]:
    """Ward codes of each leader grant."""
    if not grant_ids:
        return {}
    rows = (
        await session.exec(
            select(RoleWard)
            .where(col(RoleWard.role_id).in_(grant_ids))
            .order_by(col(RoleWard.ward_code))
        )
    ).all()
    wards: dict[int, list[str]] = {}
    for row in rows:
        wards.setdefault(row.role_id, []).append(row.ward_code)
    return wards


def _view(grant: RoleGrant, ward_codes: Iterable[str] = ()) -> GrantView:
    """A stored grant as a GrantView."""
    assert grant.id is not None
    return GrantView(
        id=grant.id,
        channel=grant.channel,
        external_id=grant.external_id,
        role=Role(grant.role),
        province_code=grant.province_code,
        club_name=grant.club_name,
        ward_codes=tuple(sorted(ward_codes)),
        granted_by=grant.granted_by,
        granted_at=grant.granted_at,
    )


# --- audit ------------------------------------------------------------------------------------


def scope_label(province_code: str | None, ward_codes: Iterable[str] = ()) -> str:
    """The audit scope: "province 01 / wards 00004,00008", "province 01", or "all"."""
    if province_code is None:
        return "all"
    wards = sorted(set(ward_codes))
    text = f"province {province_code}"
    if not wards:
        return text
    full = f"{text} / wards {','.join(wards)}"
    return full if len(full) <= MAX_SCOPE else f"{text} / {len(wards)} wards"


def _jsonable(value: Any) -> Any:
    """Sets and tuples as sorted lists, enums as their value, mappings recursively."""
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def audit(
    session: AsyncSession,
    actor: Actor | str,
    action: Action | AuditEvent,
    scope: str,
    **detail: Any,
) -> AuditEntry:
    """Write who did what, within which scope, in the caller's transaction."""
    entry = AuditEntry(
        actor=(actor.label if isinstance(actor, Actor) else actor)[:80],
        action=str(action)[:40],
        scope=scope[:MAX_SCOPE],
        detail=_jsonable(detail),
    )
    session.add(entry)
    await session.flush()
    return entry


# --- grants -----------------------------------------------------------------------------------

_BAD_ID = N_("“{value}” is not a valid user id.")
_UNKNOWN_PROVINCE = N_("There is no province with code “{code}”.")
_NO_WARDS = N_("Give at least one ward.")
_UNKNOWN_WARD = N_("There is no ward with code {code} in {province}.")
_WARD_ELSEWHERE = N_("Ward {code} ({ward}) is in {other}, not in {province}.")
_NO_CLUB = N_("Give the club's name.")
_LONG_CLUB = N_("The club's name is too long (at most {max} characters).")
_ALREADY_STAFF = N_("{person} is already steering-committee staff of {province} (#{id}).")
_ALREADY_LEADER = N_(
    "{person} already leads a club in {province} (#{id}). To change it, /revoke {id} first."
)
_NO_GRANT = N_("There is no role number #{id}. /roles lists them.")


def _valid_person(channel: str, external_id: str) -> tuple[str, str]:
    """A channel and account id that fit the table, or InvalidRequest."""
    channel, external_id = channel.strip(), external_id.strip()
    if not channel or len(channel) > 16:
        raise InvalidRequest(_BAD_ID, value=shown(f"{channel}:{external_id}"))
    if not external_id or len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable():
        raise InvalidRequest(_BAD_ID, value=shown(external_id))
    return channel, external_id


def _valid_province(code: str) -> str:
    """The code of a known province, or InvalidRequest."""
    province = get_province(code.strip())
    if province is None:
        raise InvalidRequest(_UNKNOWN_PROVINCE, code=shown(code))
    return province.code


def _valid_wards(province_code: str, ward_codes: Iterable[str]) -> frozenset[str]:
    """Ward codes that all belong to the province, or InvalidRequest naming the first bad one."""
    codes = frozenset(c.strip() for c in ward_codes if c.strip())
    if not codes:
        raise InvalidRequest(_NO_WARDS)
    province = get_province(province_code)
    assert province is not None
    for code in sorted(codes):
        if get_ward(province_code, code) is not None:
            continue
        for other in provinces():
            ward = get_ward(other.code, code)
            if ward is not None:
                raise InvalidRequest(
                    _WARD_ELSEWHERE,
                    code=shown(code),
                    ward=ward.name,
                    other=other.label,
                    province=province.label,
                )
        raise InvalidRequest(_UNKNOWN_WARD, code=shown(code), province=province.label)
    return codes


async def _existing(
    session: AsyncSession, channel: str, external_id: str, role: Role, province_code: str
) -> RoleGrant | None:
    """The grant the unique constraint would clash with."""
    return (
        await session.exec(
            select(RoleGrant).where(
                RoleGrant.channel == channel,
                RoleGrant.external_id == external_id,
                RoleGrant.role == role,
                RoleGrant.province_code == province_code,
            )
        )
    ).first()


def _duplicate(grant: RoleGrant, province_code: str) -> InvalidRequest:
    """The error for a grant that already exists."""
    province = get_province(province_code)
    message = _ALREADY_STAFF if grant.role == Role.STAFF else _ALREADY_LEADER
    return InvalidRequest(
        message,
        person=f"{grant.channel}:{grant.external_id}",
        province=province.label if province else province_code,
        id=grant.id,
    )


async def _same_grant(
    session: AsyncSession, existing: RoleGrant, grant: RoleGrant, ward_codes: frozenset[str]
) -> GrantView | None:
    """The existing grant as a view when it is exactly the one asked for (a repeat), else None."""
    assert existing.id is not None
    wards = frozenset((await _wards_of(session, [existing.id])).get(existing.id, []))
    if existing.club_name != grant.club_name or wards != ward_codes:
        return None
    return dataclasses.replace(_view(existing, wards), already=True)


async def _insert(
    session: AsyncSession, grant: RoleGrant, ward_codes: frozenset[str] = frozenset()
) -> RoleGrant | GrantView:
    """Insert a grant and its wards. The same grant again (a repeat after a crash, say) is
    returned as an `already` view; a different one for the same person and province is an
    InvalidRequest, also when it races with another insert."""
    role = Role(grant.role)
    existing = await _existing(session, grant.channel, grant.external_id, role, grant.province_code)
    if existing is not None:
        same = await _same_grant(session, existing, grant, ward_codes)
        if same is not None:
            return same
        raise _duplicate(existing, grant.province_code)
    try:
        async with session.begin_nested():
            session.add(grant)
            await session.flush()
            assert grant.id is not None
            for code in sorted(ward_codes):
                session.add(RoleWard(role_id=grant.id, ward_code=code))
            await session.flush()
    except IntegrityError:
        existing = await _existing(
            session, grant.channel, grant.external_id, role, grant.province_code
        )
        if existing is None:
            raise
        same = await _same_grant(session, existing, grant, ward_codes)
        if same is not None:
            return same
        raise _duplicate(existing, grant.province_code) from None
    return grant


async def grant_staff(
    session: AsyncSession, by: Actor, channel: str, external_id: str, province_code: str
) -> GrantView:
    """Make someone steering-committee staff of a province (admins only)."""
    channel, external_id = _valid_person(channel, external_id)
    province_code = _valid_province(province_code)
    check(by, Action.GRANT_STAFF, province_code)
    grant = await _insert(
        session,
        RoleGrant(
            channel=channel,
            external_id=external_id,
            role=Role.STAFF,
            province_code=province_code,
            granted_by=by.label[:64],
        ),
    )
    if isinstance(grant, GrantView):
        return grant  # already in place: nothing changed, nothing to audit
    view = _view(grant)
    await audit(
        session,
        by,
        Action.GRANT_STAFF,
        view.scope,
        grant_id=view.id,
        person=view.person,
        role=view.role,
    )
    return view


async def grant_leader(
    session: AsyncSession,
    by: Actor,
    channel: str,
    external_id: str,
    province_code: str,
    ward_codes: Iterable[str],
    club_name: str,
) -> GrantView:
    """Make someone the leader of a club acting for these wards of one province."""
    channel, external_id = _valid_person(channel, external_id)
    province_code = _valid_province(province_code)
    check(by, Action.GRANT_LEADER, province_code)
    wards = _valid_wards(province_code, ward_codes)
    club = " ".join(club_name.split())
    if not club:
        raise InvalidRequest(_NO_CLUB)
    if len(club) > MAX_CLUB_NAME:
        raise InvalidRequest(_LONG_CLUB, max=MAX_CLUB_NAME)
    grant = await _insert(
        session,
        RoleGrant(
            channel=channel,
            external_id=external_id,
            role=Role.LEADER,
            province_code=province_code,
            club_name=club,
            granted_by=by.label[:64],
        ),
        wards,
    )
    if isinstance(grant, GrantView):
        return grant
    view = _view(grant, wards)
    await audit(
        session,
        by,
        Action.GRANT_LEADER,
        view.scope,
        grant_id=view.id,
        person=view.person,
        role=view.role,
        club=club,
        wards=view.ward_codes,
    )
    return view


async def revoke(session: AsyncSession, by: Actor, grant_id: int) -> GrantView:
    """Remove a grant: leaders by staff of their province or admins, staff by admins only."""
    grant = await session.get(RoleGrant, grant_id) if 0 < grant_id <= MAX_ID else None
    if grant is None:
        # A repeat after a crash: the first /revoke went through. Say so to whoever may know.
        gone = await removed_grant(session, grant_id) if 0 < grant_id <= MAX_ID else None
        if gone is None or not allowed(by, _revoke_action(gone), gone.province_code):
            raise InvalidRequest(_NO_GRANT, id=grant_id)
        return gone
    wards = (await _wards_of(session, [grant_id])).get(grant_id, [])
    view = _view(grant, wards)
    needed = _revoke_action(view)
    if not allowed(by, needed, view.province_code):
        raise PermissionDenied(needed, view.province_code, reason=f"{needed} needed to revoke")
    await session.exec(delete(RoleWard).where(col(RoleWard.role_id) == grant_id))
    await session.exec(delete(RoleGrant).where(col(RoleGrant.id) == grant_id))
    await audit(
        session,
        by,
        Action.REVOKE,
        view.scope,
        grant_id=view.id,
        person=view.person,
        role=view.role,
        club=view.club_name,
        wards=view.ward_codes,
        granted_by=view.granted_by,
        province=view.province_code,
    )
    return view


def _revoke_action(view: GrantView) -> Action:
    """Managing staff is the admins' right: staff do not remove each other."""
    return Action.GRANT_STAFF if view.role == Role.STAFF else Action.REVOKE


async def removed_grant(session: AsyncSession, grant_id: int) -> GrantView | None:
    """A grant revoked earlier, as its audit entry recorded it (None if never revoked)."""
    entries = (
        await session.exec(
            select(AuditEntry)
            .where(
                col(AuditEntry.action) == str(Action.REVOKE),
                AuditEntry.detail["grant_id"].as_integer() == grant_id,
            )
            .order_by(col(AuditEntry.id).desc())
        )
    ).all()
    for entry in entries:
        detail = entry.detail
        channel, _sep, external_id = str(detail.get("person", "")).partition(":")
        # Entries written before "province" was recorded: the scope starts "province 01".
        province = str(
            detail.get("province") or (entry.scope.removeprefix("province ").split() or [""])[0]
        )
        if not (external_id and detail.get("role") in (Role.STAFF, Role.LEADER) and province):
            continue
        return GrantView(
            id=grant_id,
            channel=channel,
            external_id=external_id,
            role=Role(detail["role"]),
            province_code=province,
            club_name=detail.get("club"),
            ward_codes=tuple(detail.get("wards") or ()),
            granted_by=str(detail.get("granted_by", "")),
            already=True,
            removed_at=entry.at,
        )
    return None


async def list_grants(session: AsyncSession, by: Actor) -> list[GrantView]:
    """The grants `by` may see: all for admins, their provinces' for staff; audited."""
    if not (by.is_admin or by.is_staff):
        raise PermissionDenied(Action.LIST_ROLES)
    query = select(RoleGrant)
    if not by.is_admin:
        query = query.where(col(RoleGrant.province_code).in_(sorted(by.staff_provinces)))
    grants = (
        await session.exec(
            query.order_by(
                col(RoleGrant.province_code), col(RoleGrant.role).desc(), col(RoleGrant.id)
            )
        )
    ).all()
    wards = await _wards_of(session, [g.id for g in grants if g.id is not None])
    views = [_view(g, wards.get(g.id or 0, ())) for g in grants]
    scope = "all" if by.is_admin else f"province {','.join(sorted(by.staff_provinces))}"
    await audit(session, by, Action.LIST_ROLES, scope, count=len(views))
    return views
