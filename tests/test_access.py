"""Every privileged command × every role × in and out of scope, through the chat service.

(A leader ticking another ward in /newdrive is refused in tests/test_drives.py.)"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from models import RoleGrant, RoleWard
from models.database import Database
from services.chat import ChatService
from services.conversation.actor import Actor, LeaderScope
from services.conversation.dialog import Outcome
from services.roles import access
from services.roles.access import Action
from tests.support.outcomes import refusals
from tests.support.people import Person, buttons, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 900
HA_DONG, HOAN_KIEM = "09556", "00070"  # Hà Nội (01) wards; the leader holds only Hà Đông.

# Who is who: citizen 1, leader of Hà Đông 2, staff of Hà Nội 3, staff of TP. Hồ Chí Minh 4.
PEOPLE = {"citizen": 801, "leader": 802, "staff_hn": 803, "staff_hcm": 804, "admin": ADMIN}


def refused(outcome: Outcome) -> bool:
    """A refusal of some privileged action, whatever its wording."""
    return bool(refusals(outcome))


@pytest.fixture
async def service(db: Database) -> ChatService:
    """A chat service with one person of each role, all consented, in English."""
    chat = ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ, admin_ids=frozenset({str(ADMIN)}))
    async with db.session() as session:
        leader = RoleGrant(channel="telegram", external_id=str(PEOPLE["leader"]), role="leader",
                           province_code="01", club_name="CLB Giọt hồng", granted_by="test")
        session.add(leader)
        session.add(RoleGrant(channel="telegram", external_id=str(PEOPLE["staff_hn"]),
                              role="staff", province_code="01", granted_by="test"))
        session.add(RoleGrant(channel="telegram", external_id=str(PEOPLE["staff_hcm"]),
                              role="staff", province_code="79", granted_by="test"))
        await session.flush()
        session.add(RoleWard(role_id=leader.id or 0, ward_code=HA_DONG))
    for user_id in PEOPLE.values():
        person = Person(chat, user_id, "en")
        await person.say("/start")
        await person.tap("lang:en")
        await person.tap("consent:en:yes")
        await person.say("/cancel")
    return chat


ENTRY = ["newdrive", "mydrives", "broadcast", "urgent", "checkin", "signups"]
ENTRY_ACTIONS = {
    "newdrive": Action.CREATE_DRIVE,
    "mydrives": Action.EDIT_DRIVE,
    "broadcast": Action.BROADCAST,
    "urgent": Action.URGENT,
    "checkin": Action.CHECK_IN,
    "signups": Action.VIEW_SIGNUPS,
}


@pytest.mark.parametrize("command", ENTRY)
@pytest.mark.parametrize(
    ("who", "allowed"),
    [("citizen", False), ("leader", True), ("staff_hn", True), ("staff_hcm", True), ("admin", True)],
)
async def test_leader_tools_open_for_leaders_staff_and_admins_only(
    service: ChatService, command: str, who: str, allowed: bool
) -> None:
    person = Person(service, PEOPLE[who], "en")
    out = await service.command(person.sender(), command, [])
    assert refusals(out) == (set() if allowed else {ENTRY_ACTIONS[command]}), texts(out)


@pytest.mark.parametrize(
    ("who", "line", "allowed"),
    [
        ("citizen", f"leader 555 01 {HA_DONG} CLB A", False),
        ("leader", f"leader 555 01 {HA_DONG} CLB A", False),
        ("staff_hn", f"leader 555 01 {HA_DONG} CLB A", True),  # in their province
        ("staff_hcm", f"leader 555 01 {HA_DONG} CLB A", False),  # out of their province
        ("admin", f"leader 555 01 {HA_DONG} CLB A", True),
        ("citizen", "staff 556 01", False),
        ("leader", "staff 556 01", False),
        ("staff_hn", "staff 556 01", False),  # staff do not appoint staff
        ("staff_hcm", "staff 556 01", False),
        ("admin", "staff 556 01", True),
    ],
)
async def test_grant_matrix(service: ChatService, who: str, line: str, allowed: bool) -> None:
    person = Person(service, PEOPLE[who], "en")
    out = await service.command(person.sender(), "grant", line.split())
    assert ("Done" in texts(out)) is allowed, texts(out)
    if not allowed:
        assert refused(out), texts(out)


@pytest.mark.parametrize(
    ("who", "allowed"),
    [("citizen", False), ("leader", False), ("staff_hn", True), ("staff_hcm", True), ("admin", True)],
)
async def test_roles_and_revoke_matrix(service: ChatService, who: str, allowed: bool) -> None:
    person = Person(service, PEOPLE[who], "en")
    out = await service.command(person.sender(), "roles", [])
    assert refused(out) is not allowed, texts(out)
    out = await service.command(person.sender(), "revoke", ["1"])  # #1 is the Hà Đông leader
    in_scope = who in ("staff_hn", "admin")
    assert ("Done" in texts(out) or "removed" in texts(out).lower()) is in_scope, texts(out)


@pytest.mark.parametrize("command", ["broadcast", "urgent"])
async def test_a_leader_cannot_address_a_ward_outside_their_club(
    service: ChatService, command: str
) -> None:
    leader = Person(service, PEOPLE["leader"], "en")
    out = await service.command(leader.sender(), command, [])
    assert f"bc:ward:01:{HA_DONG}" in buttons(out)
    assert f"bc:ward:01:{HOAN_KIEM}" not in buttons(out)
    out = await leader.tap(f"bc:ward:01:{HOAN_KIEM}")  # a forged button
    assert refused(out), texts(out)


async def test_staff_cannot_address_another_province(service: ChatService) -> None:
    staff = Person(service, PEOPLE["staff_hcm"], "en")
    out = await service.command(staff.sender(), "broadcast", [])
    assert "bc:province:79" in buttons(out) and "bc:province:01" not in buttons(out)
    out = await staff.tap("bc:province:01")  # a forged button
    assert refused(out), texts(out)


OTHER_WARD = "00004"  # Phường Ba Đình, Hà Nội: a ward the leader does not hold


@pytest.mark.parametrize("action", [Action.CHECK_IN, Action.VIEW_SIGNUPS])
@pytest.mark.parametrize(
    ("who", "province", "wards", "allowed"),
    [
        ("citizen", "01", [HA_DONG], False),
        ("leader", "01", [HA_DONG], True),
        ("leader", "01", [HA_DONG, OTHER_WARD], True),  # a joint drive: the desk is shared
        ("leader", "01", [HOAN_KIEM], False),  # another ward's drive
        ("staff_hn", "01", [HOAN_KIEM], True),
        ("staff_hcm", "01", [HOAN_KIEM], False),  # another province
        ("admin", "79", ["26740"], True),
    ],
)
def test_desk_matrix(
    action: Action, who: str, province: str, wards: list[str], allowed: bool
) -> None:
    """Leaders of one of a drive's wards and staff of its province may check in and see the
    sign-ups; changing the drive still needs all of its wards."""
    actors = {
        "citizen": Actor("telegram", "801"),
        "leader": Actor(
            "telegram",
            "802",
            leader_scopes=(LeaderScope(1, "CLB", "01", frozenset({HA_DONG})),),
        ),
        "staff_hn": Actor("telegram", "803", staff_provinces=frozenset({"01"})),
        "staff_hcm": Actor("telegram", "804", staff_provinces=frozenset({"79"})),
        "admin": Actor("telegram", str(ADMIN), is_admin=True),
    }
    assert access.allowed(actors[who], action, province, wards) is allowed
    joint = access.allowed(actors["leader"], Action.EDIT_DRIVE, "01", [HA_DONG, OTHER_WARD])
    assert joint is False
