"""The donation history: recording, the most recent donation on the donor row, the reminder day,
and the donor card's token."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import Donation, Donor
from models.database import Database
from models.donations import DonationSource
from models.donor import DonationKind
from services.chat import ChatService
from services.core.validation import InputError
from services.donations import history
from services.donations.card_token import card_key, donor_of_card, make_token, read_token
from services.eligibility.donor_status import next_eligible
from tests.support.people import Person, register

TODAY = date(2026, 12, 3)


async def a_donor(service: ChatService, db: Database, user_id: int) -> int:
    await register(Person(service, user_id))
    return await _donor_id(db, user_id)


async def test_a_donation_moves_the_last_donation_and_the_reminder_day(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 501)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None and donor.last_donation_date == date(2026, 3, 15)
        await history.record(
            session,
            donor,
            day=date(2026, 11, 20),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=350,
            source=DonationSource.DRIVE,
            recorded_by="leader",
            today=TODAY,
        )
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        assert donor.last_donation_date == date(2026, 11, 20)
        assert donor.remind_on == date(2026, 11, 20) + timedelta(days=84)
        assert next_eligible(donor, TODAY).earliest == donor.remind_on
        summary = await history.summary(session, donor)
        assert (summary.count, summary.total_ml) == (2, 350)  # with the one stated at registration


async def test_platelets_then_a_correction_restores_the_earlier_donation(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 502)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        first = await history.record(
            session,
            donor,
            day=date(2026, 10, 1),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=450,
            source=DonationSource.SELF_REPORTED,
            recorded_by=history.SELF,
            today=TODAY,
        )
        mistaken = await history.record(
            session,
            donor,
            day=date(2026, 12, 1),
            kind=DonationKind.PLATELETS,
            volume_ml=250,
            source=DonationSource.DRIVE,
            recorded_by="leader",
            today=TODAY,
        )
        assert donor.remind_on == date(2026, 12, 15)  # 14 days after platelets
        assert mistaken.id is not None and first.id is not None
        await history.remove(session, donor, mistaken.id, TODAY)
        assert donor.last_donation_kind == DonationKind.WHOLE_BLOOD
        assert donor.remind_on == date(2026, 10, 1) + timedelta(days=84)
        kept = await history.donations_of(session, donor_id)
        assert [d.id for d in kept][:1] == [first.id]
        assert [(d.donated_on, d.recorded_by) for d in kept[1:]] == [
            (date(2026, 3, 15), history.REGISTRATION)
        ]


@pytest.mark.parametrize(
    ("kind", "volume"),
    [(DonationKind.WHOLE_BLOOD, 300), (DonationKind.WHOLE_BLOOD, 0), (DonationKind.PLASMA, 900)],
)
def test_volumes_outside_the_bags_are_refused(kind: DonationKind, volume: int) -> None:
    with pytest.raises(InputError):
        history.check_volume(kind, volume)


async def test_a_future_day_is_refused(service: ChatService, db: Database) -> None:
    donor_id = await a_donor(service, db, 503)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        with pytest.raises(InputError):
            await history.record(
                session,
                donor,
                day=TODAY + timedelta(days=1),
                kind=DonationKind.WHOLE_BLOOD,
                volume_ml=350,
                source=DonationSource.SELF_REPORTED,
                recorded_by=history.SELF,
                today=TODAY,
            )
    assert not await _donations(db)


async def _donations(db: Database) -> list[Donation]:
    async with db.session() as session:
        return list((await session.exec(select(Donation))).all())


async def test_a_card_token_is_short_signed_and_rotates(service: ChatService, db: Database) -> None:
    donor_id = await a_donor(service, db, 504)
    key = card_key(b"k" * 32)
    token = make_token(key, donor_id, 1)
    assert len(token) <= 64 and set(token) <= set(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    )
    assert read_token(key, token) == (donor_id, 1)
    assert read_token(card_key(b"x" * 32), token) is None  # another deployment's key
    forged = token.replace(f"c_{donor_id:x}", f"c_{donor_id + 1:x}")
    assert read_token(key, forged) is None
    async with db.session() as session:
        assert (await donor_of_card(session, key, token)) is not None
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        donor.card_version += 1
        session.add(donor)
    async with db.session() as session:
        assert await donor_of_card(session, key, token) is None
        assert await donor_of_card(session, key, make_token(key, donor_id, 2)) is not None


# ------------------------------------------------------------ through the chat service


async def test_donations_lists_the_stated_one_and_a_reported_one_with_the_next_day(
    service: ChatService, db: Database
) -> None:
    from tests.support.people import buttons, texts

    person = Person(service, 510)
    await register(person)
    out = await person.say("/donations")
    assert "1 lần" in texts(out) and "15/03/2026" in texts(out)
    assert "elsewhere" in buttons(out)
    await person.tap("elsewhere")
    out = await person.say("ngày mai")  # not a date
    assert "ngày" in texts(out).lower()
    day = service.today() - timedelta(days=10)
    await person.say(day.strftime("%d/%m/%Y"))
    out = await person.tap("dx:kind:whole_blood")
    assert "dx:volume:350" in buttons(out)
    await person.say("300")  # not a bag
    await person.tap("dx:volume:350")
    await person.say("Bệnh viện Chợ Rẫy")
    out = await person.tap("dx:save")
    later = (day + timedelta(days=84)).strftime("%d/%m/%Y")
    assert later in texts(out)
    out = await person.say("/donations")
    assert "2 lần" in texts(out) and "Bệnh viện Chợ Rẫy" in texts(out) and "350 ml" in texts(out)
    assert "Mốc tiếp theo là 5 lần" in texts(out)
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == "510"))).one()
        assert donor.remind_on == day + timedelta(days=84)


async def test_the_fifth_donation_is_congratulated(service: ChatService, db: Database) -> None:
    from tests.support.people import texts

    person = Person(service, 511, "en")
    await register(person, "en")
    donor_id = await _donor_id(db, 511)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        for months in (30, 24, 18):  # with the one stated at registration: four donations
            await history.record(
                session,
                donor,
                day=service.today() - timedelta(days=months * 30),
                kind=DonationKind.WHOLE_BLOOD,
                volume_ml=250,
                source=DonationSource.SELF_REPORTED,
                recorded_by=history.SELF,
                today=service.today(),
            )
    await person.tap("elsewhere")
    await person.say((service.today() - timedelta(days=3)).strftime("%d/%m/%Y"))
    await person.tap("dx:kind:plasma")
    await person.say("500 ml")
    await person.tap("dx:skip")
    out = await person.tap("dx:save")
    assert "Congratulations: 5 donations" in texts(out)


async def _donor_id(db: Database, user_id: int) -> int:
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()
        assert donor.id is not None
        return donor.id


async def test_the_card_shows_a_qr_of_a_genuine_link_and_a_new_card_voids_the_old(
    service: ChatService, db: Database
) -> None:
    from tests.support.people import buttons, texts

    person = Person(service, 512)
    await register(person)
    out = await person.say("/card")
    reply = out.replies[0]
    assert reply.image is not None and reply.image.content.startswith(b"\x89PNG")
    assert "Giấy chứng nhận hiến máu tình nguyện" in texts(out) and "O+" in texts(out)
    assert "card" in buttons(out)
    donor_id = await _donor_id(db, 512)
    old = make_token(service.card_key, donor_id, 1)
    async with db.session() as session:
        assert await donor_of_card(session, service.card_key, old) is not None
    out = await person.tap("card")
    assert out.replies[0].image is not None
    async with db.session() as session:
        assert await donor_of_card(session, service.card_key, old) is None
        assert await donor_of_card(
            session, service.card_key, make_token(service.card_key, donor_id, 2)
        )


async def test_forget_deletes_the_donations(service: ChatService, db: Database) -> None:
    person = Person(service, 513)
    await register(person)
    await person.tap("elsewhere")
    await person.say((service.today() - timedelta(days=3)).strftime("%d/%m/%Y"))
    await person.tap("dx:kind:whole_blood")
    await person.tap("dx:volume:450")
    await person.tap("dx:skip")
    await person.tap("dx:save")
    assert await _donations(db)
    await person.say("/forget")
    await person.tap("forget:yes")
    assert not await _donations(db)
