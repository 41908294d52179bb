"""Zalo's events read into typed events (issue 12): wrapped and bare, text, image, the rest,
the ways names and ids come, the dedupe key, and the channel-neutral Sender."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.zalo.client import ZaloClient
from handlers.zalo.events import (
    Kind,
    NotAnEvent,
    parse_event,
    parse_events,
    parse_json,
    unwrap,
)
from tests.support.fakezalo import TOKEN, FakeZaloApi, zalo_user

# The shape of Zalo's documented example.
TEXT_EVENT: dict[str, Any] = {
    "event_name": "message.text.received",
    "message": {
        "from": {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False},
        "chat": {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
    },
}


def event_with(**message: Any) -> dict[str, Any]:
    """The example with some message fields replaced (None removes one)."""
    changed = json.loads(json.dumps(TEXT_EVENT))
    for key, value in message.items():
        if value is None:
            changed["message"].pop(key, None)
        else:
            changed["message"][key] = value
    return changed


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
def test_a_text_event_is_read_wrapped_or_bare(wrapped: bool) -> None:
    body = {"ok": True, "result": TEXT_EVENT} if wrapped else TEXT_EVENT
    event = parse_json(json.dumps(body).encode())
    assert event.kind is Kind.TEXT and event.text == "Xin chào"
    assert (event.user_id, event.chat_id, event.display_name) == (
        "6ede9afa66b88fe6d6a9",
        "6ede9afa66b88fe6d6a9",
        "Ted",
    )
    assert event.dedupe_key == "message.text.received:2d758cb5e222177a4e35"
    assert event.private and not event.from_bot


def test_the_sender_is_the_channel_neutral_one_with_the_dedupe_key_as_event_id() -> None:
    sender = parse_event(TEXT_EVENT).sender()
    assert sender.channel == "zalo"
    assert sender.external_id == sender.chat_id == "6ede9afa66b88fe6d6a9"
    assert sender.language_code is None  # Zalo says no language: the bot's default applies
    event = parse_event(TEXT_EVENT)
    assert event is not None and sender.event_id == event.dedupe_key and sender.private
    assert str(sender.event_id).startswith("message.text.received:")


@pytest.mark.parametrize(
    "photo",
    [
        {"photo": "https://p.zdn.vn/a.jpg"},
        {"photo": None, "photo_url": "https://p.zdn.vn/a.jpg"},
        {"photo": [{"url": "https://p.zdn.vn/small.jpg"}, {"url": "https://p.zdn.vn/a.jpg"}]},
        {"photo": {"url": "https://p.zdn.vn/a.jpg"}},
    ],
    ids=["string", "photo_url", "sizes", "object"],
)
def test_an_image_brings_its_url_wherever_the_payload_keeps_it(photo: dict[str, Any]) -> None:
    body = event_with(text=None, caption="Ảnh giấy chứng nhận", **photo)
    body["event_name"] = "message.image.received"
    event = parse_event(body)
    assert event.kind is Kind.IMAGE and event.photo_url == "https://p.zdn.vn/a.jpg"
    assert event.caption == "Ảnh giấy chứng nhận" and event.text is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("message.sticker.received", Kind.STICKER),
        ("message.unsupported.received", Kind.UNSUPPORTED),
        ("message.voice.received", Kind.UNSUPPORTED),
        ("message.location.received", Kind.UNSUPPORTED),  # an event Zalo may add later
    ],
)
def test_other_events_are_kinds_the_bot_can_answer(name: str, kind: Kind) -> None:
    body = event_with(text=None)
    body["event_name"] = name
    event = parse_event(body)
    assert event.kind is kind and event.name == name and event.text is None


def test_a_text_or_image_event_without_its_content_is_unsupported() -> None:
    assert parse_event(event_with(text=None)).kind is Kind.UNSUPPORTED
    image = event_with(text=None, photo="not a url")
    image["event_name"] = "message.image.received"
    assert parse_event(image).kind is Kind.UNSUPPORTED


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ({"id": "a1", "display_name": "  Hồng  "}, "Hồng"),
        ({"id": "a1", "name": "Minh"}, "Minh"),
        ({"id": "a1", "first_name": "Lan"}, "Lan"),
        ({"id": "a1", "display_name": "", "name": "Minh"}, "Minh"),
        ({"id": "a1"}, None),
    ],
)
def test_the_name_is_read_from_any_of_its_fields(
    sender: dict[str, Any], expected: str | None
) -> None:
    assert parse_event(event_with(**{"from": sender})).display_name == expected


def test_ids_are_strings_even_when_they_come_as_numbers() -> None:
    event = parse_event(
        event_with(
            **{
                "from": {"id": 12345},
                "chat": {"id": 12345},
                "message_id": 777,
                "date": "1750316131602",
            }
        )
    )
    assert (event.user_id, event.chat_id, event.message_id) == ("12345", "12345", "777")
    assert event.date_ms == 1750316131602 and event.private  # no chat_type: its id is the user's


def test_a_group_chat_is_not_private_and_a_bots_message_is_marked() -> None:
    event = parse_event(
        event_with(
            chat={"id": "group1", "chat_type": "GROUP"},
            **{"from": {"id": "b1", "is_bot": True}},
        )
    )
    assert not event.private and not event.sender().private and event.from_bot


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        "😀".encode(),
        b"\xff\xfe",
        b"[1, 2]",
        b'{"ok": true, "result": null}',
        b'{"message": {}}',
        json.dumps({"event_name": "message.text.received"}).encode(),
        json.dumps(event_with(**{"from": "someone"})).encode(),
        json.dumps(event_with(chat={"chat_type": "PRIVATE"})).encode(),
        json.dumps(event_with(message_id="")).encode(),
        json.dumps(event_with(**{"from": {"id": True}})).encode(),
    ],
    ids=[
        "broken",
        "emoji",
        "not utf-8",
        "list",
        "empty result",
        "no event_name",
        "no message",
        "from not an object",
        "chat without id",
        "empty message id",
        "id a boolean",
    ],
)
def test_a_body_that_is_no_event_is_refused(body: bytes) -> None:
    with pytest.raises(NotAnEvent):
        parse_json(body)


def test_unwrap_leaves_a_bare_event_alone() -> None:
    assert unwrap(TEXT_EVENT) is TEXT_EVENT
    assert unwrap({"ok": True, "result": TEXT_EVENT}) is TEXT_EVENT


def test_parse_events_reads_one_update_or_a_list_and_skips_the_rest() -> None:
    assert [e.message_id for e in parse_events(TEXT_EVENT)] == ["2d758cb5e222177a4e35"]
    other = event_with(message_id="ffff")
    assert [e.message_id for e in parse_events([TEXT_EVENT, {"x": 1}, other])] == [
        "2d758cb5e222177a4e35",
        "ffff",
    ]


async def test_what_the_fake_platform_sends_through_get_updates_is_read() -> None:
    user = zalo_user(7, "Hà")
    with FakeZaloApi() as fake:
        fake.user_sends_text(user, "/start")
        fake.user_sends_image(user, "https://photo.example.vn/cccd.jpg", caption="CCCD")
        fake.user_sends_sticker(user)
        fake.user_sends_unsupported(user)
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            events = [e for _ in range(4) for e in parse_events(await zalo.get_updates(2))]
    assert [e.kind for e in events] == [Kind.TEXT, Kind.IMAGE, Kind.STICKER, Kind.UNSUPPORTED]
    assert events[0].text == "/start" and events[1].photo_url.endswith("cccd.jpg")  # type: ignore[union-attr]
    assert {e.user_id for e in events} == {user.id} and {e.display_name for e in events} == {"Hà"}
    dates = [e.date_ms or 0 for e in events]
    assert dates == sorted(dates) and len(set(dates)) == 4  # one person's dates increase
    assert len({e.dedupe_key for e in events}) == 4
