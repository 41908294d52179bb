"""The replies' rate limiter: messages take turns of the bot's budget, taps and edits never wait."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

import bot
from handlers.telegram.rate_limiter import BudgetRateLimiter, sends_a_message
from services.config import Settings
from services.outreach.budget import Priority, SendBudget
from tests.support.e2e import TOKEN
from tests.support.fakebot import FakeBotApi
from tests.support.virtual_clock import run_virtual

# PTB's RetryAfter reads its own deprecated attribute when it is made.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


class Calls:
    """A stand-in for PTB's request callback: notes each call's endpoint and time."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.made: list[tuple[str, float]] = []
        self.fail = fail

    def __call__(self, endpoint: str) -> Any:
        async def call() -> bool:
            self.made.append((endpoint, asyncio.get_running_loop().time()))
            if self.fail is not None:
                raise self.fail
            return True

        return call


async def request(
    limiter: BudgetRateLimiter, calls: Calls, endpoint: str, chat_id: object = 42
) -> object:
    data = {"chat_id": chat_id} if chat_id is not None else {}
    return await limiter.process_request(calls(endpoint), (), {}, endpoint, data, None)


def test_which_calls_are_messages() -> None:
    for method in ("sendMessage", "sendPhoto", "sendDocument", "sendVenue", "sendLocation"):
        assert sends_a_message(method)
    for method in ("sendMediaGroup", "copyMessage", "forwardMessage", "sendPaidMedia"):
        assert sends_a_message(method)
    for method in (
        "answerCallbackQuery",
        "editMessageText",
        "editMessageReplyMarkup",
        "setMyCommands",
        "setChatMenuButton",
        "getUpdates",
        "getMe",
        "setWebhook",
        "deleteWebhook",
        "sendChatAction",
    ):
        assert not sends_a_message(method)


def test_taps_edits_and_setup_never_wait_for_the_budget() -> None:
    """With the budget paused for 4 s, a tap is answered and its message edited at once; only
    the reply waits."""

    async def main() -> list[tuple[str, float]]:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        calls = Calls()
        budget.pause(4.0)
        reply = asyncio.create_task(request(limiter, calls, "sendMessage"))
        for endpoint in ("answerCallbackQuery", "editMessageText", "editMessageReplyMarkup"):
            await request(limiter, calls, endpoint)
        for endpoint in ("setMyCommands", "getMe", "setWebhook"):
            await request(limiter, calls, endpoint, chat_id=None)
        assert not reply.done()
        await reply
        return calls.made

    made = run_virtual(main())
    assert made[-1] == ("sendMessage", 4.0)
    assert all(at == 0.0 for _, at in made[:-1]) and len(made) == 7


def test_a_tap_costs_one_message() -> None:
    async def main() -> int:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        calls = Calls()
        for endpoint in ("answerCallbackQuery", "editMessageText", "sendMessage"):
            await request(limiter, calls, endpoint)
        return budget.in_window()

    assert run_virtual(main()) == 1


def test_replies_go_before_the_waiting_broadcast() -> None:
    async def main() -> list[str]:
        budget = SendBudget(2)
        limiter = BudgetRateLimiter(budget)
        calls = Calls()
        order: list[str] = []

        async def bulk(name: str) -> None:
            await budget.acquire(Priority.BULK)
            order.append(name)

        async def reply(name: str) -> None:
            await request(limiter, calls, "sendMessage")
            order.append(name)

        await asyncio.gather(bulk("bulk 1"), bulk("bulk 2"), bulk("bulk 3"), reply("reply"))
        return order

    # bulk 1 went at once; the reply, asked last, went before the two broadcasts waiting.
    assert run_virtual(main()) == ["bulk 1", "reply", "bulk 2", "bulk 3"]


def test_a_429_holds_its_chat_alone_and_is_raised() -> None:
    async def main() -> tuple[int, float, float, float]:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        failing = Calls(fail=RetryAfter(timedelta(seconds=3)))
        with pytest.raises(RetryAfter):
            await request(limiter, failing, "sendMessage", chat_id=42)
        await request(limiter, Calls(), "sendMessage", chat_id=43)  # someone else: at once
        other_at = asyncio.get_running_loop().time()
        await request(limiter, Calls(), "sendMessage", chat_id=42)  # the same chat waits 3 s
        same_at = asyncio.get_running_loop().time()
        return len(failing.made), other_at, same_at, budget.held_for("42")

    tries, other_at, same_at, held_after = run_virtual(main())
    assert tries == 1  # not retried here: render.py decides
    assert other_at == 0.0 and same_at == 3.0 and held_after == 0.0


def test_a_long_hold_is_raised_at_once_for_the_outbox() -> None:
    async def main() -> float:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        with pytest.raises(RetryAfter):
            await request(limiter, Calls(fail=RetryAfter(timedelta(seconds=30))), "sendMessage")
        with pytest.raises(RetryAfter):  # its next reply does not sit out the 30 s
            await request(limiter, Calls(), "sendMessage")
        return asyncio.get_running_loop().time()

    assert run_virtual(main()) == 0.0


def test_429s_on_several_chats_at_once_pause_everyone() -> None:
    async def main() -> float:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        for chat in (1, 2, 3):  # Telegram's total, not one person's limit
            with pytest.raises(RetryAfter):
                await request(
                    limiter,
                    Calls(fail=RetryAfter(timedelta(seconds=2))),
                    "sendMessage",
                    chat_id=chat,
                )
        await budget.acquire(Priority.BULK)  # the outbox waits it out too
        return asyncio.get_running_loop().time()

    assert run_virtual(main()) == 2.0


def test_a_group_429_does_not_hold_the_other_chats() -> None:
    async def main() -> float:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        group_flood = Calls(fail=RetryAfter(timedelta(seconds=40)))
        with pytest.raises(RetryAfter):
            await request(limiter, group_flood, "sendMessage", chat_id=-100123)
        await budget.acquire(Priority.INTERACTIVE)
        return asyncio.get_running_loop().time()

    assert run_virtual(main()) == 0.0


async def test_the_application_sends_through_the_budget_and_answers_taps_at_once() -> None:
    """bot.build_application with the bot's budget, against the fake Bot API server."""
    with FakeBotApi() as server:
        settings = Settings(_env_file=None, telegram_api_base_url=server.root_url)  # type: ignore[call-arg]
        budget = SendBudget(30)
        app = bot.build_application(settings, token=TOKEN, budget=budget)
        async with app:
            await app.bot.send_message(1001, "Xin chào")
            assert budget.in_window() == 1  # getMe (at initialize) took no turn
            budget.pause(4.0)
            waiting = asyncio.create_task(app.bot.send_message(1001, "sau"))
            await asyncio.wait_for(app.bot.answer_callback_query("7"), timeout=30)
            await asyncio.wait_for(
                app.bot.edit_message_text("Đã sửa", chat_id=1001, message_id=1), timeout=30
            )
            assert not waiting.done()  # the message waits out the pause; the tap did not
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
        assert budget.waiting(Priority.INTERACTIVE) == 0
    assert [m["text"] for m in server.messages_to(1001)] == ["Đã sửa"]
    assert server.stats.calls["answerCallbackQuery"] == 1


def test_a_reply_does_not_wait_out_a_long_pause() -> None:
    """After a 429 of 30 s the outbox met, a reply gets the 429 at once (render.py then queues
    it in the outbox) rather than holding its update for 30 s; a short pause it waits out."""

    async def main() -> tuple[float, float, list[tuple[str, float]]]:
        budget = SendBudget(30)
        limiter = BudgetRateLimiter(budget)
        calls = Calls()
        budget.pause(30.0)
        with pytest.raises(RetryAfter) as info:
            await request(limiter, calls, "sendMessage")
        left = info.value._retry_after.total_seconds()
        await asyncio.sleep(27.0)  # 3 s left: within MAX_PAUSE_WAIT
        await request(limiter, calls, "sendMessage")
        return left, asyncio.get_running_loop().time(), calls.made

    left, now, made = run_virtual(main())
    assert left == 30.0
    assert made == [("sendMessage", 30.0)] and now == 30.0  # the first never reached Telegram
