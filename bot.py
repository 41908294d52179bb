"""Entry point: settings → runtime() (database, migrations, warm-ups, sender, sweeps, stop) → a runner.

./run.sh                 poll Telegram (needs TELEGRAM_BOT_TOKEN), deliver the outbox, run the sweeps
./run.sh --webhook       the same, taking Telegram's updates over HTTPS (WEBHOOK_URL, _SECRET, _LISTEN)
./run.sh --console       chat with the same handlers in this terminal, no token needed
python -m scheduler      only the clock: the outbox sender and the sweeps (bot.py --sender)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from telegram import Bot, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from handlers.console.channel import (
    ConsoleBotApi,
    ConsoleRequest,
    ReadLine,
    Write,
    converse,
    stdin_line,
)
from handlers.telegram import callbacks, commands, errors, groups, messages, webhook
from handlers.telegram.menu import set_default_commands
from handlers.telegram.personal_order import PersonalOrder
from handlers.telegram.polling import poll
from handlers.telegram.rate_limiter import BudgetRateLimiter
from handlers.telegram.transport import TelegramTransport
from models.database import Database
from models.migrate import upgrade_database
from scheduler import health
from scheduler.jobs import housekeeping
from scheduler.sender import DEFAULT_IN_FLIGHT, DEFAULT_RATE, OutboxSender
from services.chat import COMMANDS, ChatService
from services.config import Settings, SettingsError, load_settings
from services.core.log_privacy import configure_logging
from services.knowledge import faq, old_addresses
from services.outreach.budget import SendBudget

log = logging.getLogger("bot")

ARRIVAL_JITTER = 0.03  # seconds added to the budget's window (Runtime.send_budget)
# Updates in hand at once (different people; each person's in order). The database's own bound
# is in the chat service (one writer on SQLite); this one keeps memory flat under a flood.
UPDATES_AT_ONCE = 200
CONSOLE_TOKEN = "100000001:console"  # the console's fake Bot API accepts any well-formed token

NO_TOKEN_HELP = """\
No Telegram bot token is set (TELEGRAM_BOT_TOKEN).

To run the bot on Telegram:
  1. Open Telegram, talk to @BotFather and send /newbot; choose a name and a username.
  2. BotFather answers with a token like 123456789:AAH…; put it in .env:
       TELEGRAM_BOT_TOKEN=123456789:AAH…
  3. Run `./run.sh` again.

To try the bot right now without a token or network, use the console mode:
  ./run.sh --console
"""


def register_handlers(app: Application) -> None:
    """Every handler, in the order Telegram updates are matched against them.

    They take people's own messages only (not channel posts, business or guest messages): the
    webhook asks Telegram for exactly what they take (handlers/telegram/update_types.py)."""
    new = filters.UpdateType.MESSAGE
    # 0. Groups and channels: one line inviting to a private chat, nothing else runs.
    app.add_handler(TypeHandler(Update, groups.outside_private_chat), group=-1)
    # An edited message is never taken as an answer (nor as a command).
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, messages.edited))
    # 1-2. Every command of the registry (citizens', leaders' and staff's; roles are checked in
    # services/roles), declared once in services/chat.py.
    app.add_handler(CommandHandler(COMMANDS.names(), commands.command, filters=new))
    # 3. Tapped inline buttons.
    app.add_handler(CallbackQueryHandler(callbacks.button))
    # 4. Shared contact and location (registration steps), and files (a plan to upload).
    app.add_handler(MessageHandler(new & filters.CONTACT, messages.contact))
    app.add_handler(MessageHandler(new & filters.LOCATION, messages.location))
    app.add_handler(MessageHandler(new & filters.Document.ALL, messages.document))
    # 5. Typed text, and commands the bot does not know.
    app.add_handler(MessageHandler(new & filters.TEXT & ~filters.COMMAND, messages.text))
    app.add_handler(MessageHandler(new & filters.COMMAND, messages.unknown_command))
    # 6. Anything else a person can send in a private chat.
    app.add_handler(
        MessageHandler(new & filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, messages.other)
    )
    # Errors: log, apologise, never a traceback.
    app.add_error_handler(errors.on_error)


def api_urls(settings: Settings) -> tuple[str, str] | None:
    """The Bot API base URLs when a self-hosted or test server is configured."""
    if not settings.telegram_api_base_url:
        return None
    base = settings.telegram_api_base_url.rstrip("/")
    return f"{base}/bot", f"{base}/file/bot"


def build_application(
    settings: Settings,
    *,
    token: str,
    request: BaseRequest | None = None,
    budget: SendBudget | None = None,
) -> Application:
    """The PTB application with every handler; the runner puts the chat service in bot_data.

    Its messages take their turns from `budget`, the bot's, shared with the outbox sender."""
    builder = ApplicationBuilder().token(token).updater(None)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # Replies and broadcasts together under Telegram's rate, replies first. A 429 is not waited
        # out here (it would hold the update): handlers/telegram/render.py retries a short one and
        # queues the rest.
        limiter = BudgetRateLimiter(budget or SendBudget(settings.telegram_max_rate))
        builder = builder.rate_limiter(limiter)
    urls = api_urls(settings)
    if urls is not None:
        builder = builder.base_url(urls[0]).base_file_url(urls[1])
    app = builder.build()
    register_handlers(app)
    return app


@dataclass
class Runtime:
    """What every way of running the bot shares: settings, the migrated database, the clock."""

    settings: Settings
    db: Database
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # When the sweeps and the sender last did their work (/healthz in webhook mode).
    heartbeat: health.Heartbeat = field(default_factory=health.Heartbeat)
    # Telegram's sending budget of each bot token, shared by its replies and its outbox sender.
    budgets: dict[str, SendBudget] = field(default_factory=dict)

    def send_budget(self, token: str) -> SendBudget:
        """The one budget of a bot token (TELEGRAM_MAX_RATE messages a second in all)."""
        if token not in self.budgets:
            # Counted over a little more than a second: requests granted a second apart reach
            # Telegram a few milliseconds nearer or further (the event loop, the network), and
            # Telegram counts what arrives.
            # Broadcasts may take every turn no reply waits for: replies go first anyway.
            rate, window = self.settings.telegram_max_rate, 1.0 + ARRIVAL_JITTER
            self.budgets[token] = SendBudget(
                rate, window=window, bulk_rate=rate / window, even=True
            )
        return self.budgets[token]

    def chat_service(self, deep_link: Callable[[str], str] | None = None) -> ChatService:
        """The chat service, built once its channel knows how a shared link looks."""
        settings = self.settings
        return ChatService(
            self.db,
            organization=settings.organization_name,
            tz=settings.tz,
            default_locale=settings.default_locale,
            admin_ids=settings.admin_ids,
            quiet_hours=settings.quiet_hours,
            rule_options=settings.rule_options,
            pseudonym_key=settings.pseudonym_secret,
            deep_link=deep_link,
            export_inline_rows=settings.export_inline_rows,
        )

    def outbox_sender(
        self, bot: Bot, *, chat_ids: Collection[str] | None = None, **pacing: Any
    ) -> OutboxSender:
        """The sender that delivers broadcasts and notices from the outbox over Telegram."""
        return OutboxSender(
            self.db,
            {"telegram": TelegramTransport(bot)},
            tz=self.settings.tz,
            default_locale=self.settings.default_locale,
            chat_ids=chat_ids,
            heartbeat=self.heartbeat,
            **pacing,
        )

    def stop_on_signals(self) -> None:
        """SIGINT and SIGTERM stop the loops; what is in flight finishes first."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)

    async def serve(
        self, chat: ChatService, sender: OutboxSender, receive: Awaitable[object]
    ) -> None:
        """Deliver the outbox and run the sweeps while `receive` takes updates; then stop all."""
        delivering = asyncio.create_task(sender.run(self.stop))
        sweeps = housekeeping(chat, self.heartbeat)
        sweeps.start()
        try:
            await receive
        finally:
            self.stop.set()
            sweeps.shutdown(wait=False)
            await delivering


@asynccontextmanager
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the database (migrated), warm the indexes, and close it all at the end."""
    db = Database(settings.database_url)
    try:
        await upgrade_database(db.engine)
        await asyncio.to_thread(
            faq.default_index
        )  # build the FAQ index now, not on the first question
        old_addresses.preload()  # the pre-2025 ward index, built in the background
        yield Runtime(settings, db)
    finally:
        await db.dispose()


def sender_bot(settings: Settings, token: str) -> Bot:
    """A Bot for the outbox sender, which paces itself (so: without PTB's rate limiter)."""
    urls = api_urls(settings)
    return Bot(token, base_url=urls[0], base_file_url=urls[1]) if urls else Bot(token)


@asynccontextmanager
async def on_telegram(
    rt: Runtime, token: str
) -> AsyncIterator[tuple[Application, Bot, ChatService]]:
    """The application (initialised, its chat service in bot_data), the sender's bot and the
    chat service; the command menus are set."""
    app = build_application(rt.settings, token=token, budget=rt.send_budget(token))
    outgoing = sender_bot(rt.settings, token)
    async with app, outgoing:
        username = app.bot.username
        chat = rt.chat_service(lambda payload: f"https://t.me/{username}?start={payload}")
        app.bot_data["chat"] = chat
        await set_default_commands(app.bot, COMMANDS, rt.settings.default_locale)
        yield app, outgoing, chat


async def run_telegram(settings: Settings) -> None:
    """Poll Telegram and deliver the outbox until SIGINT/SIGTERM."""
    token = settings.telegram_bot_token
    assert token
    async with runtime(settings) as rt, on_telegram(rt, token) as (app, outgoing, chat):
        rt.stop_on_signals()
        # Back from webhook mode: Telegram refuses getUpdates while a webhook is set (its
        # pending updates are kept and come through polling).
        await app.bot.delete_webhook(drop_pending_updates=False)
        log.info("Bot @%s is running; Ctrl-C to stop", app.bot.username)
        order = PersonalOrder(at_once=UPDATES_AT_ONCE)
        sender = rt.outbox_sender(outgoing, budget=rt.send_budget(token))
        await rt.serve(chat, sender, poll(app, rt.stop, order))


async def run_webhook(settings: Settings) -> None:
    """Take Telegram's updates on WEBHOOK_LISTEN, deliver the outbox, until SIGINT/SIGTERM."""
    url, secret = settings.require_webhook()
    token = settings.telegram_bot_token
    assert token
    async with runtime(settings) as rt, on_telegram(rt, token) as (app, outgoing, chat):
        rt.stop_on_signals()
        listening = webhook.bind(*settings.listen_address)  # before Telegram is told to post
        order = PersonalOrder(at_once=UPDATES_AT_ONCE)
        web = webhook.create_app(
            webhook.telegram_route(app, secret, order=order),
            webhook.health_route(partial(health.check, rt.db, rt.heartbeat)),
        )
        kinds = await webhook.set_webhook(app, url, secret)
        log.info(
            "Bot @%s takes %s on %s (public %s); SIGTERM to stop",
            app.bot.username,
            ", ".join(kinds),
            settings.webhook_listen,
            url,
        )
        sender = rt.outbox_sender(outgoing, budget=rt.send_budget(token))
        await rt.serve(chat, sender, webhook.serve(web, listening, rt.stop))


async def run_sender(settings: Settings, rate: float, in_flight: int) -> None:
    """Only the clock: deliver the outbox and run the sweeps (python -m scheduler)."""
    token = settings.telegram_bot_token
    if not token:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set")
    async with runtime(settings) as rt:
        rt.stop_on_signals()
        outgoing = sender_bot(settings, token)
        sender = rt.outbox_sender(outgoing, rate=rate, in_flight=in_flight)
        async with outgoing:
            await rt.serve(rt.chat_service(), sender, rt.stop.wait())
        log.info("Sender stopped: %s", sender.stats)


async def run_console(
    settings: Settings,
    user_id: int,
    language_code: str,
    read_line: ReadLine = stdin_line,
    write: Write = print,
) -> None:
    """Chat with the bot in this terminal (or with scripted lines, in the tests)."""
    async with runtime(settings) as rt:
        api = ConsoleBotApi(write, user_id=user_id, language_code=language_code)
        app = build_application(settings, token=CONSOLE_TOKEN, request=ConsoleRequest(api))
        chat = rt.chat_service()
        app.bot_data["chat"] = chat
        write("Console mode: type messages or /commands, a number to tap a button, Ctrl-D to quit.")
        write("Chế độ console: gõ tin nhắn hoặc /lệnh, gõ số để bấm nút, Ctrl-D để thoát.")
        # Only this person's messages: other consoles on the same database deliver their own.
        sender = rt.outbox_sender(app.bot, chat_ids={str(user_id)})
        async with app:
            await rt.serve(chat, sender, converse(app, api, read_line))
    write("")


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, check settings, and run."""
    parser = argparse.ArgumentParser(prog="bot.py", description="Voluntary blood donation bot")
    parser.add_argument(
        "--console", action="store_true", help="chat in this terminal, no token needed"
    )
    parser.add_argument(
        "--user-id", type=int, default=1, help="console mode: the Telegram user id to play"
    )
    parser.add_argument(
        "--lang", default="vi", help="console mode: the client's language code (vi, en)"
    )
    parser.add_argument(
        "--sender", action="store_true", help="only deliver the outbox and run the sweeps"
    )
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="take Telegram's updates on WEBHOOK_LISTEN (behind an https proxy) instead of polling",
    )
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="sender: messages/s")
    parser.add_argument(
        "--in-flight", type=int, default=DEFAULT_IN_FLIGHT, help="sender: requests at once"
    )
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    configure_logging(settings.log_level, json_lines=settings.log_format == "json")
    if args.sender:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        asyncio.run(run_sender(settings, args.rate, args.in_flight))
        return 0
    if args.console:
        if settings.log_level.upper() == "INFO":
            logging.getLogger().setLevel(logging.WARNING)
        asyncio.run(run_console(settings, args.user_id, args.lang))
        return 0
    if args.webhook:
        try:
            settings.require_webhook()
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
        asyncio.run(run_webhook(settings))
        return 0
    if not settings.telegram_bot_token:
        print(NO_TOKEN_HELP, file=sys.stderr)
        if not sys.stdin.isatty():
            return 1
        print("Starting the console mode now.\n", file=sys.stderr)
        return main([*(argv or sys.argv[1:]), "--console"])
    asyncio.run(run_telegram(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
