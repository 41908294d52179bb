"""A fake Zalo Bot Platform API on 127.0.0.1 speaking the real HTTP protocol.

The bot's Zalo client is pointed at it through ZALO_API_BASE_URL (`server.root_url`). It plays
people sending text, images, stickers and unsupported messages; serves getUpdates as Zalo does
(a long poll that returns one update per call, no offset, 408 when none came); after setWebhook
it POSTs each new event to the webhook URL with the X-Bot-Api-Secret-Token header, wrapped in
{"ok": true, "result": …} or bare (`wrapped`), one at a time, in order, retrying a failed
delivery `webhook_retries` times; records what the bot sends per chat (sendMessage, sendPhoto
by URL, sendChatAction), refusing a text over 2,000 characters as Zalo does; counts the bot's
messages per month against an optional quota (429 past it); and fails on purpose (a revoked
token answers 401, `fail_next` any status after an optional delay).

Where Zalo's behaviour is not documented (the status of an over-long text, of getUpdates while
a webhook is set, of a chat that never wrote) the fake answers 400 with a plain description;
errors come with their code as the HTTP status, or as HTTP 200 with `errors_as_http_200`.
"""

from __future__ import annotations

import http.client
import json
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

TOKEN = "1459232241454765289:Zk3vQ9-rT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0wXy"
BOT = {
    "id": "1459232241454765289",
    "account_name": "bot.hienmau_test",
    "account_type": "BASIC",
    "can_join_groups": False,
}
TEXT_LIMIT = 2000
SENDING_METHODS = {"sendMessage", "sendPhoto"}
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class ZaloUser:
    """A person in a private chat with the bot (Zalo's ids are hex strings)."""

    id: str
    display_name: str = "Test"

    def as_dict(self) -> dict[str, Any]:
        """The `from` object of an event."""
        return {"id": self.id, "display_name": self.display_name, "is_bot": False}

    def chat(self) -> dict[str, Any]:
        """The private chat (its id is the person's)."""
        return {"id": self.id, "chat_type": "PRIVATE"}


def zalo_user(number: int, name: str = "Test") -> ZaloUser:
    """A person with a 20-hex-digit id, as Zalo's look."""
    return ZaloUser(f"{number:020x}", name)


@dataclass
class Failure:
    """A planned error answer for the next calls of a method (optionally to one chat)."""

    method: str
    status: int
    description: str
    count: int
    chat_id: str | None = None
    delay: float = 0.0


@dataclass
class Delivery:
    """One webhook POST the fake made: the body, the status our app answered (0: no answer)."""

    body: dict[str, Any]
    status: int
    secret: str | None


@dataclass
class Stats:
    """What the server saw, for tests."""

    calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors_returned: int = 0
    rate_limited: int = 0


class FakeZaloApi:
    """The server, started with `with FakeZaloApi() as server:`."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        monthly_quota: int | None = None,
        clock: Callable[[], datetime] | None = None,
        wrapped: bool = True,
        webhook_retries: int = 0,
        errors_as_http_200: bool = False,
        strict_chats: bool = True,
    ) -> None:
        self.token = token
        self.lock = threading.Condition()
        self.updates: deque[dict[str, Any]] = deque()  # for getUpdates, oldest first
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.read_upto: dict[str, int] = defaultdict(int)
        self.actions: list[dict[str, Any]] = []
        self.failures: list[Failure] = []
        self.stats = Stats()
        self.monthly_quota = monthly_quota
        self.per_month: defaultdict[str, int] = defaultdict(int)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.wrapped = wrapped
        self.webhook_retries = webhook_retries
        self.errors_as_http_200 = errors_as_http_200
        self.strict_chats = strict_chats
        self.revoked = False
        self.chats: set[str] = set()  # chats that wrote to the bot: the only ones it may write to
        self.webhook: dict[str, Any] | None = None
        self.webhook_calls: list[tuple[str, dict[str, Any]]] = []
        self.deliveries: list[Delivery] = []
        self._to_deliver: deque[dict[str, Any]] = deque()
        self._closing = False
        self._polls = 0
        self._last_date = 0
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        # A short poll interval: stopping the server waits for it (0.5 s by default, per test).
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.poster = threading.Thread(target=self._post_events, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeZaloApi:
        self.thread.start()
        self.poster.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self._closing = True
            self.lock.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.poster.join(timeout=5)

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:<port>: what ZALO_API_BASE_URL takes (/bot<token>/… follows)."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- the test's side: people ------------------------------------------------------------

    def _event(self, user: ZaloUser, event_name: str, **content: Any) -> dict[str, Any]:
        """A new event from a person: to the webhook when one is set, else for getUpdates."""
        with self.lock:
            # Dates are milliseconds and increase per person, as Zalo's do.
            date = max(int(time.time() * 1000), self._last_date + 1)
            self._last_date = date
            event = {
                "event_name": event_name,
                "message": {
                    "from": user.as_dict(),
                    "chat": user.chat(),
                    "message_id": secrets.token_hex(10),
                    "date": date,
                    **content,
                },
            }
            self.chats.add(user.id)
            if self.webhook is not None:
                self._to_deliver.append(event)
            else:
                self.updates.append(event)
            self.lock.notify_all()
        return event

    def user_sends_text(self, user: ZaloUser, text: str) -> dict[str, Any]:
        """A typed message (a command too: Zalo has no command entities)."""
        return self._event(user, "message.text.received", text=text)

    def user_sends_image(
        self, user: ZaloUser, url: str = "https://photo.example.vn/a.jpg", caption: str = ""
    ) -> dict[str, Any]:
        """A picture: its URL (which expires on the real platform) and a caption."""
        content: dict[str, Any] = {"photo": url}
        if caption:
            content["caption"] = caption
        return self._event(user, "message.image.received", **content)

    def user_sends_sticker(self, user: ZaloUser) -> dict[str, Any]:
        """A sticker."""
        return self._event(
            user, "message.sticker.received", sticker="0e078a2fb66a5f34067b", url="https://s"
        )

    def user_sends_unsupported(self, user: ZaloUser) -> dict[str, Any]:
        """Something the Bot Platform does not pass on (a contact card): no content."""
        return self._event(user, "message.unsupported.received")

    def deliver_again(self, event: dict[str, Any]) -> None:
        """Post an event to the webhook once more, as a platform's retry would."""
        with self.lock:
            self._to_deliver.append(event)
            self.lock.notify_all()

    # -- the test's side: what the bot did --------------------------------------------------

    def messages_to(self, chat_id: str) -> list[dict[str, Any]]:
        """Every message the bot sent to a chat so far."""
        with self.lock:
            return list(self.sent[chat_id])

    def texts_to(self, chat_id: str) -> list[str]:
        """What the person read: each message's text, or a photo's caption."""
        return [str(m.get("text", m.get("caption", ""))) for m in self.messages_to(chat_id)]

    def wait_for_bot_messages(
        self, chat_id: str, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """The bot's next `count` new messages to a chat."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.sent[chat_id]) - self.read_upto[chat_id] < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [m.get("text") for m in self.sent[chat_id][self.read_upto[chat_id] :]]
                    raise AssertionError(f"expected {count} message(s) to {chat_id}, got {got}")
                self.lock.wait(left)
            start = self.read_upto[chat_id]
            self.read_upto[chat_id] = start + count
            return self.sent[chat_id][start : start + count]

    def wait_until(self, predicate: Callable[[FakeZaloApi], bool], timeout: float = 20.0) -> None:
        """Wait until predicate(server) holds (checked whenever the server changes)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the bot")
                self.lock.wait(min(left, 0.2))

    def wait_delivered(self, count: int, timeout: float = 20.0) -> list[Delivery]:
        """Wait until `count` webhook POSTs were answered; all of them so far."""
        self.wait_until(lambda s: len(s.deliveries) >= count, timeout)
        with self.lock:
            return list(self.deliveries)

    def sent_this_month(self) -> int:
        """The bot's messages counted in the clock's current month."""
        with self.lock:
            return self.per_month[self._month()]

    def polls_waiting(self) -> int:
        """getUpdates calls being held open now."""
        with self.lock:
            return self._polls

    # -- the test's side: failures ------------------------------------------------------------

    def revoke_token(self) -> None:
        """The token is revoked: every call answers 401."""
        with self.lock:
            self.revoked = True

    def fail_next(
        self,
        method: str,
        status: int,
        description: str = "Internal Server Error",
        *,
        count: int = 1,
        chat_id: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `count` calls of a method with an error (after `delay` seconds)."""
        with self.lock:
            self.failures.append(Failure(method, status, description, count, chat_id, delay))

    # -- the bot's side: HTTP -----------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def do_GET(self) -> None:
                self._dispatch(dict(parse_qsl(urlsplit(self.path).query)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query))
                if kind.startswith("application/json"):
                    try:
                        loaded = json.loads(body or b"{}")
                    except ValueError:
                        self._answer(*server._error(400, "Bad Request: body is not JSON"))
                        return
                    params.update(loaded if isinstance(loaded, dict) else {})
                elif body:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                self._dispatch(params)

            def _dispatch(self, params: dict[str, Any]) -> None:
                parts = urlsplit(self.path).path.strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot"):
                    self._answer(*server._error(404, "Not Found"))
                    return
                self._answer(*server._call(parts[0].removeprefix("bot"), parts[1], params))

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot went away while waiting

        return Handler

    def _call(self, token: str, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.stats.calls[method] += 1
            if self.revoked or not secrets.compare_digest(token.encode(), self.token.encode()):
                return self._error(401, "Unauthorized")
            failure = self._planned_failure(method, params)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            return self._error(failure.status, failure.description)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: no such method")
        try:
            result = handler(params)
        except _ApiError as exc:
            return self._error(exc.status, exc.description)
        if result is _NO_RESULT:
            return 200, {"ok": True}
        return 200, {"ok": True, "result": result}

    def _planned_failure(self, method: str, params: dict[str, Any]) -> Failure | None:
        for failure in self.failures:
            if failure.method != method or failure.count <= 0:
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != failure.chat_id:
                continue
            failure.count -= 1
            if failure.count == 0:
                self.failures.remove(failure)
            return failure
        return None

    def _error(self, code: int, description: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.stats.errors_returned += 1
            if code == 429:
                self.stats.rate_limited += 1
        payload = {"ok": False, "error_code": code, "description": description}
        return (200 if self.errors_as_http_200 else code), payload

    def _month(self) -> str:
        return self.clock().astimezone(ZONE).strftime("%Y-%m")

    # Methods ------------------------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(BOT)

    def _api_getUpdates(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook is not None:
            raise _ApiError(400, "Bad Request: a webhook is set; call deleteWebhook first")
        try:
            timeout = float(params.get("timeout") or 30)
        except ValueError:
            raise _ApiError(400, "Bad Request: timeout is not a number") from None
        deadline = time.monotonic() + timeout
        with self.lock:
            self._polls += 1
            self.lock.notify_all()
            try:
                while not self.updates:
                    left = deadline - time.monotonic()
                    if left <= 0 or self._closing:
                        raise _ApiError(408, "Request timeout")
                    self.lock.wait(min(left, 0.5))
                return self.updates.popleft()  # one update per call, and it is gone
            finally:
                self._polls -= 1

    def _api_setWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url = str(params.get("url") or "")
        secret = str(params.get("secret_token") or "")
        parts = urlsplit(url)
        local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
        if not (parts.scheme == "https" or local) or not parts.hostname:
            raise _ApiError(400, "Bad Request: url must be a public https URL")
        if not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must be 8 to 256 characters")
        now = int(time.time() * 1000)
        with self.lock:
            self.webhook = {"url": url, "secret_token": secret, "updated_at": now}
            self.webhook_calls.append(("setWebhook", dict(params)))
            self.lock.notify_all()
        return {"url": url, "updated_at": now}

    def _api_deleteWebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time() * 1000)
        with self.lock:
            self.webhook = None
            self.webhook_calls.append(("deleteWebhook", dict(params)))
            self.lock.notify_all()
        return {"url": "", "updated_at": now}

    def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            hook = self.webhook
        if hook is None:
            return {"url": "", "updated_at": 0}
        return {"url": hook["url"], "updated_at": hook["updated_at"]}

    def _deliver(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = str(params.get("chat_id") or "")
        if not chat:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        with self.lock:
            if self.strict_chats and chat not in self.chats:
                raise _ApiError(400, "Bad Request: the user has not messaged the bot")
            month = self._month()
            if self.monthly_quota is not None and self.per_month[month] >= self.monthly_quota:
                raise _ApiError(429, "Quota exceeded")
            self.per_month[month] += 1
            message = {
                "message_id": secrets.token_hex(10),
                "date": int(time.time() * 1000),
                **content,
            }
            self.sent[chat].append(message)
            self.lock.notify_all()
            return {"message_id": message["message_id"], "date": message["date"]}

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= _units(text) <= TEXT_LIMIT:
            raise _ApiError(400, f"Bad Request: text must be 1 to {TEXT_LIMIT} characters")
        return self._deliver(params, {"text": text})

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, str) or urlsplit(photo).scheme not in ("http", "https"):
            raise _ApiError(400, "Bad Request: photo must be an image URL")
        content: dict[str, Any] = {"photo": photo}
        caption = params.get("caption")
        if caption:
            if not isinstance(caption, str) or _units(caption) > TEXT_LIMIT:
                raise _ApiError(400, f"Bad Request: caption must be 1 to {TEXT_LIMIT} characters")
            content["caption"] = caption
        return self._deliver(params, content)

    def _api_sendChatAction(self, params: dict[str, Any]) -> object:
        if params.get("action") not in ("typing", "upload_photo"):
            raise _ApiError(400, "Bad Request: action must be typing or upload_photo")
        with self.lock:
            self.actions.append(dict(params))
            self.lock.notify_all()
        return _NO_RESULT  # Zalo answers {"ok": true} alone

    # -- the platform's side: webhook deliveries ------------------------------------------------

    def _post_events(self) -> None:
        """Deliver queued events to the webhook, one at a time, in order."""
        while True:
            with self.lock:
                while not self._closing and not (self._to_deliver and self.webhook is not None):
                    self.lock.wait(0.5)
                if self._closing:
                    return
                event = self._to_deliver.popleft()
                hook = dict(self.webhook or {})
                body = {"ok": True, "result": event} if self.wrapped else event
            for _attempt in range(1 + self.webhook_retries):
                status = _post(hook["url"], body, hook["secret_token"])
                with self.lock:
                    self.deliveries.append(Delivery(body, status, hook["secret_token"]))
                    self.lock.notify_all()
                if 200 <= status < 300:
                    break


def _post(url: str, body: dict[str, Any], secret: str) -> int:
    """One webhook POST; the status our app answered, 0 when it did not answer."""
    parts = urlsplit(url)
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Bot-Api-Secret-Token": secret,
        "User-Agent": "Java/17",  # what Zalo's deliveries say they are
    }
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request("POST", parts.path or "/", body=data, headers=headers)
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


def _units(text: str) -> int:
    """Characters as a Java server counts them (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


class _QuietServer(ThreadingHTTPServer):
    """Connections cut by a stopped bot are expected, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore a peer that went away."""


class _ApiError(Exception):
    """An error answer from a method."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


_NO_RESULT = object()


@contextmanager
def running(**options: Any) -> Iterator[FakeZaloApi]:
    """A started server, for scripts."""
    with FakeZaloApi(**options) as server:
        yield server
