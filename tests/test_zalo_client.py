"""The Zalo Bot API client against the fake Zalo server over real HTTP (issue 12): every method,
and each error answer translated to the sender's outcomes, the token never in what it says."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from handlers.zalo.client import RATE_LIMIT_PAUSE, TEXT_LIMIT, ZaloClient
from handlers.zalo.quota import FIRST_PAUSE, MonthlyQuota
from services.outreach.transport import Blocked, RateLimited, Rejected, Transient, Unauthorized
from tests.support.fakezalo import BOT, TOKEN, FakeZaloApi, zalo_user

USER = zalo_user(1, "Lan")


@pytest.fixture
def fake() -> Iterator[FakeZaloApi]:
    with FakeZaloApi() as server:
        yield server


@pytest.fixture
async def zalo(fake: FakeZaloApi) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(TOKEN, base_url=fake.root_url, timeout=5.0) as client:
        yield client


def written(fake: FakeZaloApi) -> None:
    """The person wrote first: Zalo lets a bot write only to those chats."""
    fake.chats.add(USER.id)


async def test_get_me_reads_the_bots_account(zalo: ZaloClient) -> None:
    me = await zalo.get_me()
    assert me["id"] == BOT["id"] and me["account_type"] == "BASIC"


async def test_send_message_reaches_the_chat_and_returns_zalos_id(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    written(fake)
    sent = await zalo.send_message(USER.id, "Xin chào Lan 🩸")
    [message] = fake.messages_to(USER.id)
    assert message["text"] == "Xin chào Lan 🩸"
    assert sent.message_id == message["message_id"] and len(sent.message_id) == 20
    assert sent.date == message["date"]


async def test_a_text_over_two_thousand_characters_is_refused_before_and_at_zalo(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    written(fake)
    # 1,999 letters and an emoji: 2,001 UTF-16 units, as a Java server counts them.
    long = "a" * (TEXT_LIMIT - 1) + "🩸"
    with pytest.raises(Rejected):
        await zalo.send_message(USER.id, long)
    assert fake.stats.calls["sendMessage"] == 0  # refused here: no quota spent
    with pytest.raises(Rejected, match="2000"):  # and Zalo (the fake) refuses it too
        await zalo.call("sendMessage", {"chat_id": USER.id, "text": long})
    await zalo.send_message(USER.id, "a" * TEXT_LIMIT)  # exactly the limit goes
    assert [len(m["text"]) for m in fake.messages_to(USER.id)] == [TEXT_LIMIT]


async def test_a_chat_that_never_wrote_cannot_be_written_to(zalo: ZaloClient) -> None:
    with pytest.raises(Rejected, match="not messaged"):
        await zalo.send_message(zalo_user(99).id, "Chào bạn")


async def test_send_photo_goes_by_url_with_its_caption(zalo: ZaloClient, fake: FakeZaloApi) -> None:
    written(fake)
    await zalo.send_photo(USER.id, "https://media.example.vn/card.png", caption="Thẻ của bạn")
    assert fake.messages_to(USER.id) == [
        {
            "message_id": fake.messages_to(USER.id)[0]["message_id"],
            "date": fake.messages_to(USER.id)[0]["date"],
            "photo": "https://media.example.vn/card.png",
            "caption": "Thẻ của bạn",
        }
    ]
    with pytest.raises(Rejected):  # Zalo takes no upload: a path or bytes is no photo
        await zalo.send_photo(USER.id, "/tmp/card.png")


async def test_send_chat_action_shows_typing(zalo: ZaloClient, fake: FakeZaloApi) -> None:
    await zalo.send_chat_action(USER.id)
    assert fake.actions == [{"chat_id": USER.id, "action": "typing"}]


async def test_get_updates_returns_one_update_per_call_then_nothing_on_an_idle_poll(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    first = fake.user_sends_text(USER, "Chào bot")
    second = fake.user_sends_image(USER, "https://photo.example.vn/x.jpg")
    assert await zalo.get_updates(poll_seconds=5) == [first]
    assert await zalo.get_updates(poll_seconds=5) == [second]
    assert await zalo.get_updates(poll_seconds=1) == []  # Zalo's 408: no update came


async def test_webhook_set_read_and_deleted(zalo: ZaloClient, fake: FakeZaloApi) -> None:
    url = "https://bot.example.org/zalo"
    secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"
    assert (await zalo.set_webhook(url, secret))["url"] == url
    assert fake.webhook is not None and fake.webhook["secret_token"] == secret
    assert (await zalo.get_webhook_info())["url"] == url
    with pytest.raises(Rejected):  # getUpdates does not work while a webhook is set
        await zalo.get_updates(poll_seconds=1)
    with pytest.raises(Rejected):  # Zalo posts only to https
        await zalo.set_webhook("http://bot.example.org/zalo", secret)
    with pytest.raises(ValueError):  # Zalo's secret is 8 to 256 characters
        await zalo.set_webhook(url, "short")
    await zalo.delete_webhook()
    assert (await zalo.get_webhook_info())["url"] == ""
    assert [name for name, _ in fake.webhook_calls] == ["setWebhook", "deleteWebhook"]


# ---------------------------------------------------------------- errors


async def test_a_revoked_token_disables_the_client_and_tells_once(fake: FakeZaloApi) -> None:
    told: list[str] = []

    async def tell_admins() -> None:
        told.append("token refused")

    async with ZaloClient(TOKEN, base_url=fake.root_url, on_unauthorized=tell_admins) as zalo:
        fake.revoke_token()
        with pytest.raises(Unauthorized) as refused:
            await zalo.send_message(USER.id, "Chào")
        assert refused.value.channel == "zalo" and zalo.disabled
        calls = sum(fake.stats.calls.values())
        for _ in range(3):  # later calls fail here, without asking Zalo again
            with pytest.raises(Unauthorized):
                await zalo.get_me()
        assert sum(fake.stats.calls.values()) == calls
    assert told == ["token refused"]


async def test_a_wrong_token_is_a_401_too(fake: FakeZaloApi) -> None:
    async with ZaloClient("123456:not-the-token", base_url=fake.root_url) as zalo:
        with pytest.raises(Unauthorized):
            await zalo.get_me()


async def test_a_429_is_rate_limited_with_our_pause_as_zalo_gives_none(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    written(fake)
    fake.fail_next("sendMessage", 429, "Quota exceeded")
    with pytest.raises(RateLimited) as limited:
        await zalo.send_message(USER.id, "Chào")
    assert limited.value.retry_after == RATE_LIMIT_PAUSE


async def test_with_a_quota_429s_in_a_row_pause_longer_and_a_success_ends_the_run(
    fake: FakeZaloApi,
) -> None:
    written(fake)
    quota = MonthlyQuota()
    async with ZaloClient(TOKEN, base_url=fake.root_url, quota=quota) as zalo:
        fake.fail_next("sendMessage", 429, "Quota exceeded", count=2)
        pauses = []
        for _ in range(2):
            with pytest.raises(RateLimited) as limited:
                await zalo.send_message(USER.id, "Chào")
            pauses.append(limited.value.retry_after)
        assert pauses == [FIRST_PAUSE, 2 * FIRST_PAUSE]
        assert quota.bulk_wait() is not None  # bulk messages wait
        await zalo.send_message(USER.id, "Chào")
        assert quota.used == 1 and quota.bulk_wait() is None


@pytest.mark.parametrize(
    ("status", "description", "outcome"),
    [
        (400, "Bad request", Rejected),
        (404, "Not found", Rejected),
        (403, "Internal server error", Transient),  # Zalo's own table: 403 is its fault
        (403, "User blocked the bot", Blocked),
        (408, "Request timeout", Transient),
        (500, "Internal Server Error", Transient),
        (502, "Bad Gateway", Transient),
    ],
)
@pytest.mark.parametrize("as_http_200", [False, True], ids=["http-status", "http-200"])
async def test_error_answers_become_the_senders_outcomes(
    status: int, description: str, outcome: type[Exception], as_http_200: bool
) -> None:
    with FakeZaloApi(errors_as_http_200=as_http_200) as fake:
        written(fake)
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            fake.fail_next("sendMessage", status, description)
            with pytest.raises(outcome) as raised:
                await zalo.send_message(USER.id, "Chào")
            assert str(status) in str(raised.value) and TOKEN not in str(raised.value)
            await zalo.send_message(USER.id, "Chào")  # the next one goes
            assert len(fake.messages_to(USER.id)) == 1


async def test_a_slow_answer_is_transient(fake: FakeZaloApi) -> None:
    written(fake)
    fake.fail_next("sendMessage", 500, delay=1.5)
    async with ZaloClient(TOKEN, base_url=fake.root_url, timeout=0.5) as zalo:
        with pytest.raises(Transient, match="timed out"):
            await zalo.send_message(USER.id, "Chào")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_no_server_is_transient_and_the_token_is_never_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    told: list[int] = []

    async def tell() -> None:
        told.append(1)

    async with ZaloClient(
        TOKEN, base_url=f"http://127.0.0.1:{closed_port()}", on_unauthorized=tell
    ) as zalo:
        with pytest.raises(Transient) as raised:
            await zalo.get_me()
        assert raised.value.__cause__ is None and raised.value.__suppress_context__
        assert TOKEN not in str(raised.value) and TOKEN not in repr(zalo)
    ours = [r for r in caplog.records if r.name.startswith("handlers.zalo")]
    assert all(TOKEN not in r.getMessage() for r in ours)


async def test_an_unauthorized_is_logged_without_the_token(
    fake: FakeZaloApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.revoke_token()
    async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
        with pytest.raises(Unauthorized):
            await zalo.get_me()
    ours = [r for r in caplog.records if r.name.startswith("handlers.zalo")]
    assert ours and all(TOKEN not in r.getMessage() for r in ours)
    assert any("Zalo channel is off" in r.getMessage() for r in ours)


async def test_the_fake_counts_the_bots_messages_per_month_against_its_quota() -> None:
    now = [datetime(2026, 3, 31, 16, 0, tzinfo=UTC)]  # 23:00 on 31 March in Vietnam
    with FakeZaloApi(monthly_quota=2, clock=lambda: now[0]) as fake:
        written(fake)
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            await zalo.send_message(USER.id, "một")
            await zalo.send_photo(USER.id, "https://media.example.vn/a.png")
            with pytest.raises(RateLimited):
                await zalo.send_message(USER.id, "ba")
            assert fake.sent_this_month() == 2 and fake.stats.rate_limited == 1
            now[0] = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)  # 00:00 on 1 April in Vietnam
            await zalo.send_message(USER.id, "tháng mới")
            assert fake.sent_this_month() == 1
            assert dict(fake.per_month) == {"2026-03": 2, "2026-04": 1}
