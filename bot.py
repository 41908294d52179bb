"""Entry point: settings → runtime() (database, migrations, warm-ups, sender, sweeps, stop) → a runner.

./run.sh                 poll Telegram (TELEGRAM_BOT_TOKEN) and/or Zalo (ZALO_BOT_TOKEN), deliver
                         the outbox on each, run the sweeps
./run.sh --webhook       the same, taking updates over HTTPS (WEBHOOK_URL, _SECRET, _LISTEN; Zalo's
                         at /zalo: ZALO_WEBHOOK_URL or WEBHOOK_URL's origin, ZALO_WEBHOOK_SECRET)
./run.sh --console       chat with the same handlers in this terminal, no token needed
python -m scheduler      only the clock: the outbox sender and the sweeps (bot.py --sender)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Coroutine,
    Mapping,
)
from contextlib import AsyncExitStack, asynccontextmanager
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
from handlers.zalo import polling as zalo_polling
from handlers.zalo.client import CHANNEL as ZALO
from handlers.zalo.client import ZaloClient
from handlers.zalo.messages import ZaloConversation
from handlers.zalo.quota import MonthlyQuota
from handlers.zalo.transport import ZaloTransport
from handlers.zalo.webhook import zalo_route
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
from services.outreach.transport import Transient, Transport, Unauthorized

log = logging.getLogger("bot")

ARRIVAL_JITTER = 0.03  # seconds added to the budget's window (Runtime.send_budget)
# Updates in hand at once (different people; each person's in order). The database's own bound
# is in the chat service (one writer on SQLite); this one keeps memory flat under a flood.
UPDATES_AT_ONCE = 200
CONSOLE_TOKEN = "100000001:console"  # the console's fake Bot API accepts any well-formed token

NO_TOKEN_HELP = """\
No bot token is set (TELEGRAM_BOT_TOKEN, or ZALO_BOT_TOKEN for Zalo: see README, "On Zalo").

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
        self,
        bot: Bot | None,
        *,
        more: Mapping[str, Transport] | None = None,
        chat_ids: Collection[str] | None = None,
        budget: SendBudget | None = None,
        **pacing: Any,
    ) -> OutboxSender:
        """The sender that delivers broadcasts and notices from the outbox over Telegram (with
        `bot`, taking its turns from `budget`, the bot's, when given) and the other channels of
        `more` (Zalo's), each row on its own channel."""
        transports: dict[str, Transport] = {"telegram": TelegramTransport(bot)} if bot else {}
        transports.update(more or {})
        return OutboxSender(
            self.db,
            transports,
            tz=self.settings.tz,
            default_locale=self.settings.default_locale,
            chat_ids=chat_ids,
            heartbeat=self.heartbeat,
            budget=budget,
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


@dataclass
class OnZalo:
    """The Zalo channel of a running bot: its client, its conversations, its outbox transport."""

    client: ZaloClient
    conversation: ZaloConversation
    transport: ZaloTransport


@asynccontextmanager
async def on_zalo(rt: Runtime, chat: ChatService) -> AsyncIterator[OnZalo]:
    """The Zalo client (its token checked), the event handler and the outbox transport.

    A token Zalo refuses at the start stops the start (Unauthorized); refused later, the channel
    turns off and the admins are told on Telegram, once, while the rest of the bot runs on."""
    settings = rt.settings
    token = settings.zalo_bot_token
    assert token
    quota = MonthlyQuota()
    async with ZaloClient(token, base_url=settings.zalo_api_base_url, quota=quota) as client:
        try:
            await client.get_me()
        except Transient as exc:  # Zalo down for a moment: polling or the webhook will tell
            log.warning("Could not check the Zalo token now (%s); going on", exc)
        client.on_unauthorized = partial(chat.token_refused, "Zalo", "ZALO_BOT_TOKEN")
        transport = ZaloTransport(
            client,
            tz=settings.tz,
            quota=quota,
            remember=partial(chat.offer_more, ZALO),
            next_number=partial(chat.next_offer_number, ZALO),
        )
        yield OnZalo(client, ZaloConversation(chat, client, tz=settings.tz), transport)


@dataclass
class Channels:
    """The channels this process runs (Telegram, Zalo, or both) around one chat service."""

    chat: ChatService
    telegram: Application | None = None
    telegram_bot: Bot | None = None  # the outbox sender's, without PTB's rate limiter
    telegram_budget: SendBudget | None = None  # shared by the application and the sender
    zalo: OnZalo | None = None

    def more_transports(self) -> dict[str, Transport]:
        """The outbox transports beside Telegram's."""
        return {ZALO: self.zalo.transport} if self.zalo is not None else {}


@asynccontextmanager
async def channels(rt: Runtime) -> AsyncIterator[Channels]:
    """Telegram when its token is set, Zalo when its token is set; one chat service for both
    (its links are Telegram's when Telegram runs)."""
    async with AsyncExitStack() as stack:
        token = rt.settings.telegram_bot_token
        if token:
            app, outgoing, chat = await stack.enter_async_context(on_telegram(rt, token))
            found = Channels(chat, app, outgoing, rt.send_budget(token))
        else:
            found = Channels(rt.chat_service())
        if rt.settings.zalo_enabled:
            found.zalo = await stack.enter_async_context(on_zalo(rt, found.chat))
        yield found


async def until_stopped(stop: asyncio.Event, *receivers: Awaitable[object]) -> None:
    """Run the receivers; one that ends early (Zalo refusing its token) leaves the others, and
    the outbox, running until the stop."""
    await asyncio.gather(*receivers)
    await stop.wait()


async def run_telegram(settings: Settings) -> None:
    """Poll Telegram and/or Zalo and deliver the outbox until SIGINT/SIGTERM."""
    async with runtime(settings) as rt, channels(rt) as on:
        rt.stop_on_signals()
        receivers: list[Awaitable[object]] = []
        if on.telegram is not None:
            app = on.telegram
            # Back from webhook mode: Telegram refuses getUpdates while a webhook is set (its
            # pending updates are kept and come through polling).
            await app.bot.delete_webhook(drop_pending_updates=False)
            log.info("Bot @%s is running; Ctrl-C to stop", app.bot.username)
            order = PersonalOrder(at_once=UPDATES_AT_ONCE)
            receivers.append(poll(app, rt.stop, order))
        if on.zalo is not None:
            # For development: Zalo's getUpdates has no offset (webhook mode for real use).
            log.info("Polling Zalo's getUpdates; Ctrl-C to stop")
            receivers.append(
                zalo_polling.poll(on.zalo.client, on.zalo.conversation.handle, rt.stop)
            )
        sender = rt.outbox_sender(
            on.telegram_bot, more=on.more_transports(), budget=on.telegram_budget
        )
        await rt.serve(on.chat, sender, until_stopped(rt.stop, *receivers))


async def run_webhook(settings: Settings) -> None:
    """Take Telegram's and/or Zalo's updates on WEBHOOK_LISTEN, deliver the outbox, until
    SIGINT/SIGTERM."""
    async with runtime(settings) as rt, channels(rt) as on:
        rt.stop_on_signals()
        listening = webhook.bind(*settings.listen_address)  # before anyone is told to post
        routes = [webhook.health_route(partial(health.check, rt.db, rt.heartbeat))]
        if on.telegram is not None:
            url, secret = settings.require_webhook()
            order = PersonalOrder(at_once=UPDATES_AT_ONCE)
            routes.append(webhook.telegram_route(on.telegram, secret, order=order))
        if on.zalo is not None:
            zalo_url, zalo_secret = settings.require_zalo_webhook()
            handle = on.zalo.conversation.handle
            routes.append(zalo_route(handle, zalo_secret, at_once=UPDATES_AT_ONCE))
        web = webhook.create_app(*routes)
        if on.telegram is not None:
            kinds = await webhook.set_webhook(on.telegram, url, secret)
            log.info(
                "Bot @%s takes %s on %s (public %s); SIGTERM to stop",
                on.telegram.bot.username,
                ", ".join(kinds),
                settings.webhook_listen,
                url,
            )
        if on.zalo is not None:
            await on.zalo.client.set_webhook(zalo_url, zalo_secret)
            log.info("Zalo posts to %s (public %s)", settings.webhook_listen, zalo_url)
        sender = rt.outbox_sender(
            on.telegram_bot, more=on.more_transports(), budget=on.telegram_budget
        )
        await rt.serve(on.chat, sender, webhook.serve(web, listening, rt.stop))


async def run_sender(settings: Settings, rate: float, in_flight: int) -> None:
    """Only the clock: deliver the outbox (Telegram's rows, and Zalo's when its token is set)
    and run the sweeps (python -m scheduler)."""
    token = settings.telegram_bot_token
    if not token and not settings.zalo_enabled:
        raise SystemExit("TELEGRAM_BOT_TOKEN (or ZALO_BOT_TOKEN) is not set")
    async with runtime(settings) as rt, AsyncExitStack() as stack:
        rt.stop_on_signals()
        chat = rt.chat_service()
        outgoing = sender_bot(settings, token) if token else None
        if outgoing is not None:
            await stack.enter_async_context(outgoing)
        more: dict[str, Transport] = {}
        if settings.zalo_enabled:
            more[ZALO] = (await stack.enter_async_context(on_zalo(rt, chat))).transport
        sender = rt.outbox_sender(outgoing, more=more, rate=rate, in_flight=in_flight)
        await rt.serve(chat, sender, rt.stop.wait())
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
            settings.check_webhook_mode()
        except SettingsError as exc:
            print(exc, file=sys.stderr)
            return 2
        return _refused_token_exits(run_webhook(settings))
    if not settings.telegram_bot_token and not settings.zalo_enabled:
        print(NO_TOKEN_HELP, file=sys.stderr)
        if not sys.stdin.isatty():
            return 1
        print("Starting the console mode now.\n", file=sys.stderr)
        return main([*(argv or sys.argv[1:]), "--console"])
    return _refused_token_exits(run_telegram(settings))


def _refused_token_exits(running: Coroutine[Any, Any, None]) -> int:
    """Run; a token Zalo refuses at the start ends it with a sentence, not a traceback."""
    try:
        asyncio.run(running)
    except Unauthorized as exc:
        print(f"Zalo refused ZALO_BOT_TOKEN ({exc}): check the token.", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
