"""/wards: unfollowing the donor's own ward asks first; another ward goes at a tap, and says so."""

from __future__ import annotations

from sqlmodel import select

from models import Follow
from models.database import Database
from services.chat import ChatService
from tests.support.people import Person, buttons, count, register, texts


async def wards(person: Person) -> list[str]:
    out = await person.service.command(person.sender(), "wards", [])
    return buttons(out)


async def test_the_home_ward_is_unfollowed_only_after_a_confirmation(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 401, "en")
    await register(person, "en")  # home: Phường Sài Gòn (79:26740)
    out = await service.command(person.sender(), "wards", [])
    assert "(your own ward)" in texts(out) or any(
        "(your own ward)" in b.label for r in out.replies for row in r.buttons for b in row
    )
    out = await person.tap("unfollow:79:26740")
    assert "Phường Sài Gòn" in texts(out) and "Stop following it?" in texts(out)
    assert buttons(out) == ["unfollow:79:26740:yes", "unfollow:79:26740:no"]
    assert all(len(data.encode()) < 64 for data in buttons(out))
    assert await count(db, Follow) == 1  # nothing changed yet

    out = await person.tap("unfollow:79:26740:no")
    assert "you still follow Phường Sài Gòn" in texts(out)
    assert await count(db, Follow) == 1

    await person.tap("unfollow:79:26740")
    out = await person.tap("unfollow:79:26740:yes")
    assert "You no longer follow Phường Sài Gòn" in texts(out)
    assert await count(db, Follow) == 0
    assert "unfollow:79:26740" not in await wards(person)
    out = await person.tap("unfollow:79:26740:yes")  # a repeated tap: no false "done"
    assert "You no longer follow" not in texts(out)


async def test_another_ward_goes_at_a_tap_and_says_so(service: ChatService, db: Database) -> None:
    person = Person(service, 402, "en")
    await register(person, "en")
    async with db.session() as session:
        home = (await session.exec(select(Follow))).one()
        session.add(Follow(donor_id=home.donor_id, province_code="79", ward_code="26743"))
    assert "unfollow:79:26743" in await wards(person)
    out = await person.tap("unfollow:79:26743")
    assert "You no longer follow Phường Bến Thành" in texts(out)
    assert "unfollow:79:26740" in buttons(out)  # the menu again, with the home ward
    assert await count(db, Follow) == 1
