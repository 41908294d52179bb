"""End to end: a donor reports a donation and gets their card, a QR photo of a genuine start link,
from the real bot.py through the fake Bot API."""

from __future__ import annotations

import hashlib

import pytest

from services.donations.card import qr_png
from services.donations.card_token import card_key, make_token
from tests.support.e2e import BotProcess, Chat, button_data, donors, register_vietnamese, text_of
from tests.support.fakebot import BOT_USER, FakeBotApi, FakeUser

KEY = "k" * 64


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"PSEUDONYM_KEY": KEY}


def test_a_reported_donation_and_the_donor_card(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    donor = Chat(server, FakeUser(5301, "Hồng", "vi"))
    register_vietnamese(donor)
    out = donor.say("/donations")
    assert "1 lần" in text_of(out) and "elsewhere" in button_data(out)
    donor.tap("elsewhere")
    donor.say("01/12/2026")
    donor.tap("dx:kind:whole_blood")
    donor.tap("dx:volume:450")
    donor.tap("dx:skip")
    out = donor.tap("dx:save")
    assert "23/02/2027" in text_of(out)  # 84 days after 01/12/2026

    out = donor.say("/card")
    assert "Giấy chứng nhận hiến máu tình nguyện" in text_of(out) and "23/02/2027" in text_of(out)
    [photo] = out  # the card's words are the picture's caption
    assert photo["photo_name"] == "donor-card.png"
    [me] = [d for d in donors(database_url) if d.external_id == "5301"]
    assert me.id is not None
    token = make_token(card_key(KEY.encode()), me.id, 1)
    link = f"https://t.me/{BOT_USER['username']}?start={token}"
    assert photo["photo_sha256"] == hashlib.sha256(qr_png(link)).hexdigest()
