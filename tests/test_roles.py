"""Roles and access: the permission matrix, and /grant, /revoke, /roles, /whoami on a database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, func, select

from models import AuditEntry, RoleGrant, RoleWard
from models.database import Database
from services.chat import ChatService
from services.conversation.dialog import Sender
from services.core.i18n import use_locale
from services.roles import access, admin
from services.roles.access import Action, Actor, InvalidRequest, LeaderScope, PermissionDenied

HANOI, HCM = "01", "79"
BA_DINH, NGOC_HA, HOAN_KIEM = "00004", "00008", "00070"  # wards of Hà Nội
SAI_GON = "26740"  # a ward of Hồ Chí Minh
ADMINS = frozenset({"1"})

CLUB = LeaderScope(7, "CLB Hiến máu Ba Đình", HANOI, frozenset({BA_DINH, NGOC_HA}))
ADMIN = Actor("telegram", "1", is_admin=True)
STAFF_HERE = Actor("telegram", "2", staff_provinces=frozenset({HANOI}))
STAFF_ELSEWHERE = Actor("telegram", "3", staff_provinces=frozenset({HCM}))
LEADER = Actor("telegram", "4", leader_scopes=(CLUB,))
CITIZEN = Actor("telegram", "5")

# Who tries, and for which province and wards.
CASES: dict[str, tuple[Actor, str, tuple[str, ...]]] = {
    "admin": (ADMIN, HANOI, (BA_DINH,)),
    "staff in province": (STAFF_HERE, HANOI, (BA_DINH,)),
    "staff of another province": (STAFF_ELSEWHERE, HANOI, (BA_DINH,)),
    "leader in own ward": (LEADER, HANOI, (BA_DINH,)),
    "leader for a ward outside the club": (LEADER, HANOI, (HOAN_KIEM,)),
    "citizen": (CITIZEN, HANOI, (BA_DINH,)),
}
COLUMNS = tuple(CASES)
Y, N = True, False
# Columns: admin, staff in province, staff elsewhere, leader own ward, leader outside, citizen.
MATRIX: dict[Action, tuple[bool, bool, bool, bool, bool, bool]] = {
    Action.CREATE_DRIVE: (Y, Y, N, Y, N, N),
    Action.EDIT_DRIVE: (Y, Y, N, Y, N, N),
    Action.CANCEL_DRIVE: (Y, Y, N, Y, N, N),
    Action.BROADCAST: (Y, Y, N, Y, N, N),
    Action.URGENT: (Y, Y, N, Y, N, N),
    Action.VIEW_STATS: (Y, Y, N, Y, N, N),
    Action.UPLOAD_PLAN: (Y, Y, N, N, N, N),
    Action.GRANT_LEADER: (Y, Y, N, N, N, N),
    Action.GRANT_STAFF: (Y, N, N, N, N, N),
    Action.REVOKE: (Y, Y, N, N, N, N),
    Action.LIST_ROLES: (Y, Y, N, N, N, N),
    Action.CHECK_IN: (Y, Y, N, Y, N, N),
    Action.VIEW_SIGNUPS: (Y, Y, N, Y, N, N),
}


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Assert on the English texts whatever the Vietnamese catalog holds."""
    with use_locale("en"):
        yield


def test_matrix_covers_every_action() -> None:
    assert set(MATRIX) == set(Action)


@pytest.mark.parametrize(
    ("action", "who", "expected"),
    [(action, who, row[i]) for action, row in MATRIX.items() for i, who in enumerate(COLUMNS)],
)
def test_role_matrix(action: Action, who: str, expected: bool) -> None:
    actor, province, wards = CASES[who]
    assert access.allowed(actor, action, province, wards) is expected


def test_leader_needs_every_ward_in_the_club_and_province() -> None:
    create = Action.CREATE_DRIVE
    assert access.allowed(LEADER, create, HANOI, [BA_DINH, NGOC_HA])
    assert not access.allowed(LEADER, create, HANOI, [BA_DINH, HOAN_KIEM])
    assert not access.allowed(LEADER, create, HANOI, [])
    assert not access.allowed(LEADER, create, HCM, [SAI_GON])
    assert not access.allowed(LEADER, create, HCM, [BA_DINH])  # right code, wrong province
    assert not access.allowed(LEADER, create, None, [BA_DINH])


def test_staff_only_within_their_province() -> None:
    assert access.allowed(STAFF_HERE, Action.BROADCAST, HANOI, [])
    assert not access.allowed(STAFF_HERE, Action.BROADCAST, HANOI, [SAI_GON])
    assert not access.allowed(STAFF_HERE, Action.VIEW_STATS, None)
    assert access.allowed(ADMIN, Action.VIEW_STATS, None)
    with pytest.raises(PermissionDenied) as denied:
        access.check(STAFF_ELSEWHERE, Action.URGENT, HANOI, [BA_DINH])
    assert denied.value.action == Action.URGENT
    assert (denied.value.province_code, denied.value.ward_codes) == (HANOI, (BA_DINH,))


def test_scopes_for_pickers() -> None:
    assert access.wards_in_scope(ADMIN, HANOI) is None
    assert access.wards_in_scope(STAFF_HERE, HANOI) is None
    assert access.wards_in_scope(STAFF_ELSEWHERE, HANOI) == frozenset()
    assert access.wards_in_scope(LEADER, HANOI) == {BA_DINH, NGOC_HA}
    assert access.wards_in_scope(CITIZEN, HANOI) == frozenset()
    assert access.provinces_in_scope(ADMIN) is None
    assert access.provinces_in_scope(LEADER) == {HANOI}
    assert access.provinces_in_scope(CITIZEN) == frozenset()


def test_actor_properties() -> None:
    assert (ADMIN.is_admin, ADMIN.is_staff, ADMIN.is_leader, ADMIN.is_privileged) == (Y, N, N, Y)
    assert (STAFF_HERE.is_staff, STAFF_HERE.is_privileged) == (Y, Y)
    assert (LEADER.is_leader, LEADER.is_privileged) == (Y, Y)
    assert not CITIZEN.is_privileged
    assert CITIZEN.label == "telegram:5"


def test_scope_label_fits_the_column() -> None:
    assert access.scope_label(None) == "all"
    assert access.scope_label(HANOI) == "province 01"
    assert access.scope_label(HANOI, [NGOC_HA, BA_DINH]) == "province 01 / wards 00004,00008"
    many = [f"{n:05d}" for n in range(40)]
    assert access.scope_label(HANOI, many) == "province 01 / 40 wards"


def test_refusals_are_polite_and_say_who_can_help() -> None:
    text = admin.refuse(Action.CREATE_DRIVE, HANOI, [HOAN_KIEM]).text
    assert text.startswith("Sorry")
    assert "Phường Hoàn Kiếm" in text and "TP. Hà Nội" in text
    assert "Red Cross or Youth Union club" in text
    assert "bot's administrators" in admin.refuse(Action.GRANT_STAFF).text
    stats = admin.refuse(Action.VIEW_STATS, HCM).text
    assert "TP. Hồ Chí Minh" in stats and "club leaders and steering-committee staff" in stats
    for action in Action:
        assert admin.refuse(action).text.startswith("Sorry")


# --- on the database --------------------------------------------------------------------------


async def actor_of(db: Database, user_id: str) -> Actor:
    """The person's roles as the router would load them."""
    async with db.session() as session:
        return await access.load_actor(session, "telegram", user_id, ADMINS)


async def run(db: Database, user_id: str, line: str) -> str:
    """Type a role command as `user_id`; the reply texts, joined."""
    name, *args = line.lstrip("/").split()
    chat = ChatService(db, organization="Test", tz=ZoneInfo("Asia/Ho_Chi_Minh"), admin_ids=ADMINS)
    out = await chat.command(Sender("telegram", user_id, user_id, language_code="en"), name, args)
    return "\n".join(r.text for r in out.replies)


async def audit_rows(db: Database) -> list[tuple[str, str, str]]:
    async with db.session() as session:
        rows = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))).all()
    return [(r.actor, r.action, r.scope) for r in rows]


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_admin_grants_staff_by_province_name(db: Database) -> None:
    out = await run(db, "1", "/grant staff 200 ha noi")
    assert "telegram:200 is now steering-committee staff of TP. Hà Nội" in out
    staff = await actor_of(db, "200")
    assert staff.staff_provinces == {HANOI} and not staff.is_admin
    assert (await actor_of(db, "1")).is_admin
    assert await audit_rows(db) == [("telegram:1", "grant_staff", "province 01")]
    out = await run(db, "1", "/grant staff 201 Hồ Chí Minh")
    assert "TP. Hồ Chí Minh" in out
    assert (await actor_of(db, "201")).staff_provinces == {HCM}


async def test_staff_cannot_grant_staff_nor_outside_their_province(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    out = await run(db, "200", "/grant staff 201 01")
    assert out.startswith("Sorry") and "administrators" in out
    out = await run(db, "200", "/grant leader 300 hcm 26740 CLB Sài Gòn")
    assert out.startswith("Sorry") and "TP. Hồ Chí Minh" in out
    assert await count(db, RoleGrant) == 1
    assert [row[1] for row in await audit_rows(db)] == ["grant_staff"]


async def test_staff_grants_a_leader_with_ward_names_and_codes(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    out = await run(db, "200", '/grant leader 300 "Hà Nội" "Ba Đình, 00008" CLB Hiến máu Ba Đình')
    assert "telegram:300 now leads CLB Hiến máu Ba Đình" in out
    assert "Phường Ba Đình, Phường Ngọc Hà" in out
    leader = await actor_of(db, "300")
    (scope,) = leader.leader_scopes
    assert (scope.club_name, scope.province_code) == ("CLB Hiến máu Ba Đình", HANOI)
    assert scope.ward_codes == {BA_DINH, NGOC_HA}
    assert access.allowed(leader, Action.CREATE_DRIVE, HANOI, [NGOC_HA])
    assert not access.allowed(leader, Action.CREATE_DRIVE, HANOI, [HOAN_KIEM])
    assert (await audit_rows(db))[-1] == (
        "telegram:200",
        "grant_leader",
        "province 01 / wards 00004,00008",
    )
    async with db.session() as session:
        entry = (await session.exec(select(AuditEntry).order_by(col(AuditEntry.id).desc()))).first()
    assert entry is not None and entry.at is not None
    assert entry.detail["person"] == "telegram:300"
    assert entry.detail["club"] == "CLB Hiến máu Ba Đình"
    assert entry.detail["wards"] == [BA_DINH, NGOC_HA]
    # Without quotes, the province and exact ward names are still found, diacritics or not.
    out = await run(db, "1", "/grant leader 301 Hà Nội Ba Đình, hoan kiem CLB Thanh niên")
    assert "telegram:301 now leads CLB Thanh niên for Phường Ba Đình, Phường Hoàn Kiếm" in out
    assert (await actor_of(db, "301")).leader_wards(HANOI) == {BA_DINH, HOAN_KIEM}
    out = await run(db, "1", "/grant leader 302 hanoi badinh,hoankiem CLB")
    assert (await actor_of(db, "302")).leader_wards(HANOI) == {BA_DINH, HOAN_KIEM}
    # A name that is only the start of several wards is not guessed.
    out = await run(db, "1", "/grant leader 303 01 hoan CLB")
    assert "“hoan” could be Phường Hoàn Kiếm (00070), Phường Hoàng Mai (00331)" in out
    assert not (await actor_of(db, "303")).is_leader


async def test_leaders_and_citizens_cannot_manage_roles(db: Database) -> None:
    await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    before = await audit_rows(db)
    for user in ("300", "555"):
        for line in (
            "/grant leader 301 01 00004 CLB",
            "/grant staff 301 01",
            "/revoke 1",
            "/roles",
        ):
            out = await run(db, user, line)
            assert out.startswith("Sorry"), (user, line, out)
            assert "Red Cross" in out
    assert await count(db, RoleGrant) == 1
    assert await audit_rows(db) == before


async def test_revoke_removes_access(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    await run(db, "200", "/grant leader 300 01 00004,00008 CLB Ba Đình")
    leader = await actor_of(db, "300")
    grant_id = leader.leader_scopes[0].grant_id
    assert access.allowed(leader, Action.BROADCAST, HANOI, [BA_DINH])
    out = await run(db, "200", f"/revoke #{grant_id}")
    assert f"#{grant_id} removed" in out and "no longer leads CLB Ba Đình" in out
    leader = await actor_of(db, "300")
    assert not leader.is_privileged
    assert not access.allowed(leader, Action.BROADCAST, HANOI, [BA_DINH])
    assert await count(db, RoleWard) == 0
    assert (await audit_rows(db))[-1] == (
        "telegram:200",
        "revoke",
        "province 01 / wards 00004,00008",
    )
    # The same /revoke again (after a crash, the update comes back): done already, no error.
    out = await run(db, "200", f"/revoke {grant_id}")
    assert out.startswith(f"Already done: #{grant_id} was removed on ")
    assert "no longer leads CLB Ba Đình (TP. Hà Nội)" in out
    assert [row[1] for row in await audit_rows(db)].count("revoke") == 1


async def test_only_admins_remove_staff_and_staff_stay_in_their_province(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    await run(db, "1", "/grant staff 201 79")
    await run(db, "1", "/grant leader 301 79 26740 CLB Sài Gòn")
    staff_id, other_staff_id, hcm_leader_id = 1, 2, 3
    out = await run(db, "200", f"/revoke {staff_id}")
    assert out.startswith("Sorry") and "administrators" in out
    out = await run(db, "200", f"/revoke {hcm_leader_id}")
    assert out.startswith("Sorry") and "TP. Hồ Chí Minh" in out
    assert await count(db, RoleGrant) == 3
    out = await run(db, "1", f"/revoke {other_staff_id}")
    assert "no longer steering-committee staff of TP. Hồ Chí Minh" in out
    assert not (await actor_of(db, "201")).is_staff
    assert (await audit_rows(db))[-1] == ("telegram:1", "revoke", "province 79")


async def test_roles_lists_what_the_caller_may_see(db: Database) -> None:
    assert "No roles have been granted yet" in await run(db, "1", "/roles")
    await run(db, "1", "/grant staff 200 01")
    await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    await run(db, "1", "/grant leader 301 79 26740 CLB Sài Gòn")
    everything = await run(db, "1", "/roles")
    assert "Roles granted: 3" in everything
    assert "#1 staff of TP. Hà Nội: telegram:200, by telegram:1" in everything
    assert "#2 leader of CLB Ba Đình (TP. Hà Nội: Phường Ba Đình): telegram:300" in everything
    assert "CLB Sài Gòn" in everything and "/revoke" in everything
    mine = await run(db, "200", "/roles")
    assert "Roles granted in TP. Hà Nội: 2" in mine
    assert "CLB Ba Đình" in mine and "CLB Sài Gòn" not in mine
    rows = await audit_rows(db)
    assert rows[-1] == ("telegram:200", "list_roles", "province 01")
    assert ("telegram:1", "list_roles", "all") in rows


async def test_every_privileged_action_is_audited(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    await run(db, "200", "/grant leader 300 01 00004 CLB Ba Đình")
    await run(db, "200", "/roles")
    await run(db, "200", "/revoke 2")
    await run(db, "555", "/whoami")
    assert await audit_rows(db) == [
        ("telegram:1", "grant_staff", "province 01"),
        ("telegram:200", "grant_leader", "province 01 / wards 00004"),
        ("telegram:200", "list_roles", "province 01"),
        ("telegram:200", "revoke", "province 01 / wards 00004"),
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/grant staff 200 atlantis", "I do not know the province “atlantis”"),
        ("/grant staff 200 99", "There is no province with code “99”"),
        ("/grant staff 200 ha", "could be"),
        ("/grant staff abc 01", "“abc” is not a user id"),
        ("/grant staff -5 01", "“-5” is not a user id"),
        ("/grant leader 300 01 26740 CLB", "Ward 26740 (Phường Sài Gòn) is in TP. Hồ Chí Minh"),
        ("/grant leader 300 01 99999 CLB", "There is no ward with code 99999 in TP. Hà Nội"),
        ("/grant leader 300 01 atlantis CLB", "There is no ward “atlantis” in TP. Hà Nội"),
        ("/grant leader 300 01 00004", "To grant a role"),
        ("/grant", "To grant a role"),
        ("/grant boss 300 01", "To grant a role"),
        ("/revoke", "To remove a role"),
        ("/revoke abc", "To remove a role"),
        ("/revoke 999", "There is no role number #999"),
        ("/revoke 99999999999", "There is no role number #99999999999"),
        ("/revoke 0", "There is no role number #0"),
    ],
)
async def test_bad_input_gives_a_clear_message(db: Database, line: str, expected: str) -> None:
    out = await run(db, "1", line)
    assert expected in out, out
    assert await count(db, RoleGrant) == 0
    assert await audit_rows(db) == []


async def test_a_repeated_grant_is_already_in_place_and_a_different_one_refused(
    db: Database,
) -> None:
    await run(db, "1", "/grant staff 200 01")
    out = await run(db, "1", "/grant staff 200 hanoi")
    assert out == (
        "Already in place (#1): telegram:200 is steering-committee staff of TP. Hà Nội. "
        "Nothing needed changing."
    )
    await run(db, "1", "/grant leader 300 01 00004 CLB A")
    out = await run(db, "1", "/grant leader 300 01 00004 CLB A")
    assert out.startswith("Already in place (#2): telegram:300 leads CLB A for Phường Ba Đình")
    out = await run(db, "1", "/grant leader 300 01 00008 CLB B")
    assert "already leads a club in TP. Hà Nội (#2)" in out and "/revoke 2" in out
    assert await count(db, RoleGrant) == 2
    # A repeat is not a new grant: audited once.
    assert [row[1] for row in await audit_rows(db)] == ["grant_staff", "grant_leader"]


async def test_a_concurrent_duplicate_leaves_the_transaction_usable(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await run(db, "1", "/grant staff 200 01")
    original = access._existing
    calls: list[Any] = []

    async def miss_once(*args: Any) -> Any:
        calls.append(args)
        return None if len(calls) == 1 else await original(*args)

    monkeypatch.setattr(access, "_existing", miss_once)
    async with db.session() as session:
        view = await access.grant_staff(session, ADMIN, "telegram", "200", HANOI)
        assert view.already and view.id == 1
        await access.audit(session, ADMIN, Action.LIST_ROLES, "province 01", kept=True)
    assert await count(db, RoleGrant) == 1
    assert (await audit_rows(db))[-1] == ("telegram:1", "list_roles", "province 01")
    # A different grant losing the same race is refused, and the transaction stays usable.
    await run(db, "1", "/grant leader 300 01 00004 CLB A")
    calls.clear()
    async with db.session() as session:
        with pytest.raises(InvalidRequest) as error:
            await access.grant_leader(session, ADMIN, "telegram", "300", HANOI, [NGOC_HA], "CLB B")
        assert "already leads" in error.value.text()
        await access.audit(session, ADMIN, Action.LIST_ROLES, "province 01", kept=True)
    assert await count(db, RoleGrant) == 2


async def test_audit_for_other_modules(db: Database) -> None:
    async with db.session() as session:
        await access.audit(
            session,
            LEADER,
            Action.CREATE_DRIVE,
            access.scope_label(HANOI, [BA_DINH]),
            drive_id=5,
            wards=frozenset({NGOC_HA, BA_DINH}),
        )
    async with db.session() as session:
        entry = (await session.exec(select(AuditEntry))).one()
    assert (entry.actor, entry.action, entry.scope) == (
        "telegram:4",
        "create_drive",
        "province 01 / wards 00004",
    )
    assert entry.detail == {"drive_id": 5, "wards": [BA_DINH, NGOC_HA]}


async def test_whoami(db: Database) -> None:
    out = await run(db, "555", "/whoami")
    assert "Your user id: 555" in out and "no special role" in out
    await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    out = await run(db, "300", "/whoami")
    assert "Leader of CLB Ba Đình (#1) for Phường Ba Đình, TP. Hà Nội" in out
    assert "/grant" not in out
    out = await run(db, "1", "/whoami")
    assert "administrator" in out and "/grant" in out
    assert await audit_rows(db) == [("telegram:1", "grant_leader", "province 01 / wards 00004")]


async def test_grant_staff_directly_checks_input(db: Database) -> None:
    async with db.session() as session:
        with pytest.raises(InvalidRequest):
            await access.grant_staff(session, ADMIN, "telegram", "", HANOI)
        with pytest.raises(PermissionDenied):
            await access.grant_staff(session, STAFF_HERE, "telegram", "9", HANOI)
        with pytest.raises(PermissionDenied):
            await access.list_grants(session, LEADER)
        with pytest.raises(InvalidRequest):
            await access.grant_leader(session, ADMIN, "telegram", "9", HANOI, [BA_DINH], "  ")
    assert await count(db, RoleGrant) == 0


async def add_person(
    db: Database, user_id: str, name: str | None, locale: str = "vi", chat_id: str | None = None
) -> None:
    """Someone who talked to the bot; registered when a name is given."""
    from datetime import UTC, datetime

    from models import Donor

    now = datetime.now(UTC)
    async with db.session() as session:
        session.add(
            Donor(
                channel="telegram",
                external_id=user_id,
                chat_id=chat_id or user_id,
                locale=locale,
                consent_version="test",
                consented_at=now,
                full_name=name,
                registered_at=now if name else None,
            )
        )


async def queued(db: Database) -> list[tuple[str, str, str]]:
    """(kind, chat, text) of every queued message."""
    from models import Broadcast, OutboxMessage

    async with db.session() as session:
        rows = await session.exec(
            select(Broadcast.kind, OutboxMessage.chat_id, OutboxMessage.text)
            .join(Broadcast, col(Broadcast.id) == col(OutboxMessage.broadcast_id))
            .order_by(col(OutboxMessage.id))
        )
        return [(kind, chat, text) for kind, chat, text in rows.all()]


@pytest.mark.parametrize(
    "line",
    [
        "/grant staff 200 " + "atlantis " * 600,
        "/grant staff 200 " + "9" * 4000,
        "/grant staff " + "1" * 4000 + " 01",
        "/grant leader 300 01 " + "9" * 4000 + " CLB",
        "/grant leader 300 01 " + "atlantis" * 500 + " CLB",
    ],
)
async def test_a_huge_input_is_not_echoed_back_whole(db: Database, line: str) -> None:
    out = await run(db, "1", line)
    assert len(out) < 300 and "…" in out, out[:300]
    assert await count(db, RoleGrant) == 0


async def test_the_person_is_told_of_a_new_and_an_ended_role_in_their_language(
    db: Database,
) -> None:
    # Their last message came from a group: what only they may read still goes to their
    # private chat (on Telegram, the chat whose id is their user id).
    await add_person(db, "300", "Trần Thị Bích", locale="vi", chat_id="-100777")
    await add_person(db, "200", None, locale="en")
    out = await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    assert "They have been told in the bot." in out
    out = await run(db, "1", "/grant staff 200 01")
    assert "They have been told in the bot." in out
    out = await run(db, "1", "/grant staff 201 79")
    assert "have not talked to the bot yet" in out and "/start" in out
    notices = await queued(db)
    assert [(kind, chat) for kind, chat, _text in notices] == [
        ("role_granted", "300"),
        ("role_granted", "200"),
    ]
    leader_text, staff_text = notices[0][2], notices[1][2]
    assert "CLB Ba Đình" in leader_text and "/newdrive" in leader_text
    assert "/broadcast" in leader_text and "/grant" not in leader_text
    assert leader_text.startswith("🎖 Bạn được giao")  # in the person's language
    assert (
        "You are now steering-committee staff of TP. Hà Nội" in staff_text
        and "/grant" in staff_text
    )
    # A repeat tells nobody again.
    await run(db, "1", "/grant staff 200 01")
    assert len(await queued(db)) == 2
    out = await run(db, "1", "/revoke 1")
    assert "They have been told in the bot." in out
    kind, chat, text = (await queued(db))[-1]
    assert (kind, chat) == ("role_revoked", "300") and "CLB Ba Đình" in text


async def test_roles_shows_registered_names_and_else_the_id(db: Database) -> None:
    await add_person(db, "300", "Nguyễn Văn An")
    await add_person(db, "301", None)  # consented, never registered: no name to show
    await run(db, "1", "/grant staff 200 01")
    await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    await run(db, "200", "/grant leader 301 01 00008 CLB Ngọc Hà")
    out = await run(db, "1", "/roles")
    assert "#1 staff of TP. Hà Nội: telegram:200, by telegram:1" in out
    assert "Phường Ba Đình): Nguyễn Văn An (telegram:300), by telegram:1" in out
    assert "Phường Ngọc Hà): telegram:301, by telegram:200" in out


async def test_a_repeated_revoke_is_only_explained_to_who_may_see_it(db: Database) -> None:
    await run(db, "1", "/grant staff 200 01")
    await run(db, "1", "/grant staff 201 79")
    await run(db, "1", "/grant leader 300 01 00004 CLB Ba Đình")
    await run(db, "200", "/revoke 3")
    assert "Already done: #3" in await run(db, "200", "/revoke 3")
    assert "Already done: #3" in await run(db, "1", "/revoke 3")
    # Staff of another province learn nothing about Hà Nội's roles.
    assert "There is no role number #3" in await run(db, "201", "/revoke 3")
