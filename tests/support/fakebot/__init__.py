"""A fake Telegram Bot API server on 127.0.0.1 speaking the real HTTP protocol.

The real bot (or the outbox sender) is pointed at it through TELEGRAM_API_BASE_URL. It keeps the
chats in memory, plays users (text, commands with bot_command entities, contacts, locations,
button taps), serves getUpdates long polling with offsets, and can enforce Telegram's limits the
way Telegram does: 429 with retry_after when more than 30 messages go out in one second in total
or more than one per second to the same chat (a short burst is tolerated, as Telegram does).
It can also fail on purpose (403 blocked, 5xx, timeouts) to test the sender's error handling.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Hiến máu tình nguyện",
    "username": "hienmau_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Parameters Telegram takes as plain strings; everything else arrives JSON-encoded.
TEXT_PARAMS = {
    "text",
    "caption",
    "title",
    "address",
    "callback_query_id",
    "language_code",
    "parse_mode",
    "chat_id",
    "foursquare_id",
    "google_place_id",
    "google_place_type",
    "secret_token",
    "url",
}
SENDING_METHODS = {"sendMessage", "sendDocument", "sendVenue", "sendLocation", "sendPhoto"}


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user in a private chat with the bot."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "vi"
    last_name: str | None = None
    username: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The User object Telegram sends."""
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    def chat(self) -> dict[str, Any]:
        """The private Chat object."""
        return {"id": self.id, "type": "private", "first_name": self.first_name}


@dataclass
class Failure:
    """A planned error answer for the next calls of a method (optionally to one chat)."""

    method: str
    status: int
    description: str
    count: int
    chat_id: str | None = None
    retry_after: int | None = None
    delay: float = 0.0


@dataclass
class Stats:
    """What the server saw, for tests and benchmarks."""

    calls: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    too_many_requests: int = 0
    errors_returned: int = 0
    delivered: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_delivery: float | None = None
    last_delivery: float | None = None
    delivery_times: list[float] = field(default_factory=list)
    # Every message sent and every text edited, in order: (monotonic time, chat id, "message"
    # or "edit").
    sends: list[tuple[float, str, str]] = field(default_factory=list)


class _Limits:
    """Telegram's published limits: 30 messages per second in total, 1 per second to a chat."""

    def __init__(self, per_second: int, per_chat_burst: int | None) -> None:
        self.per_second = per_second
        self.per_chat_burst = per_chat_burst
        self.recent: deque[float] = deque()
        self.per_chat: dict[str, deque[float]] = defaultdict(deque)

    def check(self, chat_id: str, now: float) -> int | None:
        """None when the message may go, else the retry_after in seconds."""
        while self.recent and now - self.recent[0] >= 1.0:
            self.recent.popleft()
        if len(self.recent) >= self.per_second:
            return 1
        if self.per_chat_burst is not None:
            window = self.per_chat[chat_id]
            # A private chat tolerates a short burst, then about one message per second.
            while window and now - window[0] >= float(self.per_chat_burst):
                window.popleft()
            if len(window) >= self.per_chat_burst:
                return 1
            window.append(now)
        self.recent.append(now)
        return None


class FakeBotApi:
    """The server, started with `with FakeBotApi() as server:`; base_url ends in /bot."""

    def __init__(
        self,
        *,
        rate_limits: bool = True,
        per_second: int = 30,
        per_chat_burst: int | None = None,
        latency: float = 0.0,
        record_messages: bool = True,
    ) -> None:
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        self.message_ids: dict[str, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self.callback_ids = itertools.count(1)
        # Everything the bot sent or edited, per chat, and how far each test has read.
        self.sent: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.read_upto: dict[str, int] = defaultdict(int)
        self.edits: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.blocked: set[str] = set()
        self.failures: list[Failure] = []
        self.stats = Stats()
        self.files: dict[str, bytes] = {}  # documents people sent, by file id (getFile, /file/)
        self.limits = _Limits(per_second, per_chat_burst) if rate_limits else None
        self.latency = latency
        self.record_messages = record_messages
        self._polling = False
        self._polls_waiting = 0
        self.confirmed_offset = 0
        # setWebhook's parameters while a webhook is set (getUpdates then answers 409, as
        # Telegram does), and every setWebhook / deleteWebhook call in order.
        self.webhook: dict[str, Any] | None = None
        self.webhook_calls: list[tuple[str, dict[str, Any]]] = []
        # Set by a benchmark playing Telegram's side of a webhook: the users' updates go to it
        # (called in the thread that made them) instead of waiting for getUpdates.
        self.on_update: Callable[[dict[str, Any]], None] | None = None
        # Called under the lock with (monotonic time, chat id, kind) for every entry of
        # stats.sends, so that a benchmark can time replies without polling the server.
        self.on_send: Callable[[float, str, str], None] | None = None
        self.httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        with self.lock:
            self.lock.notify_all()

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:<port>"""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """What PTB's base_url takes (the token is appended)."""
        return f"{self.root_url}/bot"

    # -- the test's side: playing users -----------------------------------------------------

    def _push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            update["update_id"] = next(self.update_ids)
            deliver = self.on_update
            if deliver is None:
                self.updates.append(update)
                self.lock.notify_all()
        if deliver is not None:
            deliver(update)
        return update

    def _user_message(self, user: FakeUser, **content: Any) -> dict[str, Any]:
        chat = str(user.id)
        with self.lock:
            message_id = next(self.message_ids[chat])
        message = {
            "message_id": message_id,
            "from": user.as_dict(),
            "chat": user.chat(),
            "date": int(time.time()),
            **content,
        }
        return self._push({"message": message})

    def user_sends_text(self, user: FakeUser, text: str) -> dict[str, Any]:
        """A typed message; a leading /command carries its bot_command entity, as Telegram does."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split()[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._user_message(user, **content)

    def user_sends_contact(self, user: FakeUser, phone: str, own: bool = True) -> dict[str, Any]:
        """A shared contact: one's own (the share-contact button) or someone else's."""
        contact = {
            "phone_number": phone,
            "first_name": user.first_name if own else "Someone",
            "user_id": user.id if own else user.id + 1_000_000,
        }
        return self._user_message(user, contact=contact)

    def user_sends_location(self, user: FakeUser, lat: float, lon: float) -> dict[str, Any]:
        """A shared location."""
        return self._user_message(user, location={"latitude": lat, "longitude": lon})

    def user_sends_document(
        self, user: FakeUser, filename: str, content: bytes, mime_type: str = "text/csv"
    ) -> dict[str, Any]:
        """A file sent as a document; the bot fetches it with getFile and a /file/ download."""
        file_id = f"upload{len(self.files) + 1}"
        with self.lock:
            self.files[file_id] = content
        document = {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        return self._user_message(user, document=document)

    def user_presses(self, user: FakeUser, button: str, timeout: float = 10.0) -> dict[str, Any]:
        """Tap a button of the bot's latest keyboard, found by its callback data or its label.

        An inline button becomes a callback query; a reply-keyboard button becomes its text.
        Waits for the button to appear, as a person waits for the bot's answer.
        """
        deadline = time.monotonic() + timeout
        while True:
            update = self._press(user, button)
            if update is not None:
                return update
            if time.monotonic() > deadline:
                raise AssertionError(f"no button {button!r} in the chat with {user.id}")
            with self.lock:
                self.lock.wait(0.1)

    def _press(self, user: FakeUser, button: str) -> dict[str, Any] | None:
        """The update for tapping a button, if it is on screen."""
        chat = str(user.id)
        with self.lock:
            messages = list(reversed(self.sent[chat]))
        # Exact data or label first; then a label that ends with the words (after an emoji).
        for exact in (True, False):
            for message in messages:
                markup = message.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for b in row:
                        if _matches(button, b.get("callback_data"), b.get("text"), exact):
                            query = {
                                "id": str(next(self.callback_ids)),
                                "from": user.as_dict(),
                                "message": _as_returned(message),
                                "chat_instance": f"ci{chat}",
                                "data": b["callback_data"],
                            }
                            return self._push({"callback_query": query})
                for row in markup.get("keyboard", []):
                    for b in row:
                        label = b if isinstance(b, str) else b.get("text")
                        if _matches(button, None, label, exact):
                            return self.user_sends_text(user, str(label))
        return None

    def wait_for_bot_messages(
        self, chat_id: int | str, count: int = 1, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """The bot's next `count` new messages to a chat (edits are not counted)."""
        chat = str(chat_id)
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.sent[chat]) - self.read_upto[chat] < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = self.sent[chat][self.read_upto[chat] :]
                    texts = [m.get("text", m.get("caption", "")) for m in got]
                    raise AssertionError(f"expected {count} message(s) to {chat}, got {texts}")
                self.lock.wait(left)
            start = self.read_upto[chat]
            self.read_upto[chat] = start + count
            return self.sent[chat][start : start + count]

    def wait_for_text(
        self, chat_id: int | str, needle: str, timeout: float = 20.0
    ) -> list[dict[str, Any]]:
        """Read the bot's new messages to a chat up to the first whose text holds `needle`."""
        chat = str(chat_id)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                unread = self.sent[chat][self.read_upto[chat] :]
                for index, message in enumerate(unread):
                    if needle in str(message.get("text", message.get("caption", ""))):
                        self.read_upto[chat] += index + 1
                        return unread[: index + 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    texts = [m.get("text", "") for m in unread]
                    raise AssertionError(f"no message with {needle!r} to {chat}; got {texts}")
                self.lock.wait(left)

    def messages_to(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Every message the bot sent to a chat so far."""
        with self.lock:
            return list(self.sent[str(chat_id)])

    def wait_until(self, predicate: Any, timeout: float = 20.0) -> None:
        """Wait until predicate(server) is true (it is checked whenever the server changes)."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for the bot")
                self.lock.wait(min(left, 0.2))

    # -- the test's side: failures ------------------------------------------------------------

    def block(self, chat_id: int | str) -> None:
        """The user blocks the bot: sends to them answer 403."""
        with self.lock:
            self.blocked.add(str(chat_id))

    def fail_next(
        self,
        method: str,
        status: int,
        description: str = "Internal Server Error",
        *,
        count: int = 1,
        chat_id: int | str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `count` calls of a method with an error (or hang `delay` seconds)."""
        with self.lock:
            self.failures.append(
                Failure(
                    method,
                    status,
                    description,
                    count,
                    None if chat_id is None else str(chat_id),
                    retry_after,
                    delay,
                )
            )

    def wait_confirmed(self, timeout: float = 10.0) -> None:
        """Wait until the bot has confirmed (by its getUpdates offset) every update so far."""
        with self.lock:
            last = max((u["update_id"] for u in self.updates), default=0)
        self.wait_until(lambda s: s.confirmed_offset > last or not s.updates, timeout)

    def set_limits(self, on: bool, per_second: int = 30, per_chat_burst: int | None = None) -> None:
        """Turn Telegram's limits on (afresh) or off between the phases of a benchmark."""
        with self.lock:
            self.limits = _Limits(per_second, per_chat_burst) if on else None

    def _sent(self, now: float, chat: str, method: str) -> None:
        """Note a message or a text edit that went through (called under the lock)."""
        self.stats.sends.append((now, chat, method))
        if self.on_send is not None:
            self.on_send(now, chat, method)

    def polling(self) -> bool:
        """Whether the bot has asked for updates since the last reset."""
        with self.lock:
            return self._polling

    def reset_polling(self) -> None:
        """Forget that the bot polled (after killing it)."""
        with self.lock:
            self._polling = False

    # -- the bot's side: the HTTP API -----------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body go out as two writes: with Nagle's algorithm the second
            # waits for the client's delayed ACK (about 40 ms a call on loopback).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Quiet."""

            def do_GET(self) -> None:
                """GET with query parameters, or a file download (/file/bot<token>/<path>)."""
                parts = urlparse(self.path).path.strip("/").split("/")
                if len(parts) == 4 and parts[0] == "file" and parts[1].startswith("bot"):
                    self._file(parts[3])
                    return
                self._dispatch(dict(parse_qsl(urlparse(self.path).query)))

            def _file(self, file_id: str) -> None:
                data = server.files.get(file_id)
                if data is None:
                    self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                """POST as JSON, form-urlencoded or multipart."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                params: dict[str, Any] = dict(parse_qsl(urlparse(self.path).query))
                if kind.startswith("application/json"):
                    params.update(json.loads(body or b"{}"))
                elif kind.startswith("multipart/form-data"):
                    params.update(_multipart(kind, body))
                elif body:
                    params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                self._dispatch(params)

            def _dispatch(self, raw: dict[str, Any]) -> None:
                path = urlparse(self.path).path
                parts = path.strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot"):
                    self._answer(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                method = parts[1]
                params = {k: _decode(k, v) for k, v in raw.items()}
                status, payload = server._call(method, params)
                self._answer(status, payload)

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot was killed while waiting

        return Handler

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.stats.calls[method] += 1
            failure = self._planned_failure(method, params)
        if failure is not None:
            if failure.delay:
                time.sleep(failure.delay)
            return self._error(failure.status, failure.description, failure.retry_after)
        if self.latency:
            time.sleep(self.latency)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return self._error(404, "Not Found: method not found")
        try:
            result = handler(params)
        except _ApiError as exc:
            return self._error(exc.status, exc.description, exc.retry_after)
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

    def _error(
        self, status: int, description: str, retry_after: int | None = None
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.stats.errors_returned += 1
            if status == 429:
                self.stats.too_many_requests += 1
        payload: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            payload["parameters"] = {"retry_after": retry_after}
        return status, payload

    # Methods ------------------------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        with self.lock:
            self.webhook = dict(params)
            self.webhook_calls.append(("setWebhook", dict(params)))
            self.lock.notify_all()
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        with self.lock:
            self.webhook = None
            self.webhook_calls.append(("deleteWebhook", dict(params)))
            self.lock.notify_all()
        return True

    def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self.lock:
            self._polling = True
            self.lock.notify_all()
            if offset:
                # Telegram forgets every update below the offset: they are confirmed.
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                ready = [u for u in self.updates if u["update_id"] >= offset][:limit]
                if ready:
                    return ready
                left = deadline - time.monotonic()
                if left <= 0:
                    return []
                self.lock.wait(min(left, 0.5))

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        with self.lock:
            self.commands[key] = list(params.get("commands") or [])
        return True

    def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        with self.lock:
            self.commands.pop(key, None)
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        with self.lock:
            return list(self.commands.get(key, []))

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        with self.lock:
            self.callback_answers.append(params)
        return True

    def _deliver(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        chat = str(params.get("chat_id", ""))
        if not chat:
            raise _ApiError(400, "Bad Request: chat_id is empty")
        now = time.monotonic()
        with self.lock:
            if chat in self.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            if self.limits is not None:
                retry_after = self.limits.check(chat, now)
                if retry_after is not None:
                    raise _ApiError(
                        429, f"Too Many Requests: retry after {retry_after}", retry_after
                    )
            text = content.get("text")
            if text is not None and not 1 <= len(text) <= 4096:
                raise _ApiError(400, "Bad Request: message is too long")
            message = {
                "message_id": next(self.message_ids[chat]),
                "from": BOT_USER,
                "chat": {"id": _chat_int(chat), "type": "private"},
                "date": int(time.time()),
                **content,
            }
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            self.stats.delivered[chat] += 1
            if self.stats.first_delivery is None:
                self.stats.first_delivery = now
            self.stats.last_delivery = now
            self.stats.delivery_times.append(now)
            self._sent(now, chat, "message")
            if self.record_messages:
                self.sent[chat].append(message)
            self.lock.notify_all()
            return _as_returned(message)

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._deliver(params, {"text": str(params.get("text", ""))})

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        document = params.get("document")
        name = document.get("filename", "file") if isinstance(document, dict) else "file"
        data = document.get("content", b"") if isinstance(document, dict) else b""
        content: dict[str, Any] = {
            "document": {
                "file_id": f"doc{time.monotonic_ns()}",
                "file_unique_id": f"u{time.monotonic_ns()}",
                "file_name": name,
                "file_size": len(data),
            },
            "document_content": data.decode("utf-8", "replace") if isinstance(data, bytes) else "",
        }
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._deliver(params, content)

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        data = photo.get("content", b"") if isinstance(photo, dict) else b""
        if not isinstance(data, bytes) or not data.startswith(b"\x89PNG"):
            raise _ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        size = {
            "file_id": f"ph{time.monotonic_ns()}",
            "file_unique_id": "p",
            "file_size": len(data),
        }
        content: dict[str, Any] = {"photo": [{**size, "width": 320, "height": 320}]}
        content["photo_name"] = photo.get("filename", "photo") if isinstance(photo, dict) else ""
        content["photo_sha256"] = hashlib.sha256(data).hexdigest()
        if params.get("caption"):
            content["caption"] = params["caption"]
        return self._deliver(params, content)

    def _api_getFile(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]),
            "file_path": f"documents/{file_id}",
        }

    def _api_sendVenue(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        venue = {
            "location": location,
            "title": params.get("title"),
            "address": params.get("address"),
        }
        return self._deliver(params, {"venue": venue, "location": location})

    def _api_sendLocation(self, params: dict[str, Any]) -> dict[str, Any]:
        location = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
        return self._deliver(params, {"location": location})

    def _find(self, chat: str, message_id: int) -> dict[str, Any]:
        for message in self.sent[chat]:
            if message["message_id"] == message_id:
                return message
        raise _ApiError(400, "Bad Request: message to edit not found")

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = str(params.get("chat_id", ""))
        with self.lock:
            if chat in self.blocked:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            message_id = int(params.get("message_id") or 0)
            if self.record_messages:
                message = self._find(chat, message_id)
                if message.get("text") == params.get("text") and message.get(
                    "reply_markup"
                ) == params.get("reply_markup"):
                    raise _ApiError(400, "Bad Request: message is not modified")
                message["text"] = str(params.get("text", ""))
                if "reply_markup" in params:
                    message["reply_markup"] = params["reply_markup"]
                else:
                    message.pop("reply_markup", None)
            else:
                message = {
                    "message_id": message_id,
                    "from": BOT_USER,
                    "chat": {"id": _chat_int(chat), "type": "private"},
                    "date": int(time.time()),
                    "text": str(params.get("text", "")),
                }
            self.edits[chat].append(dict(params))
            self._sent(time.monotonic(), chat, "edit")
            self.lock.notify_all()
            return _as_returned(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = str(params.get("chat_id", ""))
        with self.lock:
            message = self._find(chat, int(params.get("message_id") or 0))
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            else:
                message.pop("reply_markup", None)
            self.edits[chat].append(dict(params))
            self.lock.notify_all()
            return _as_returned(message)

    def _api_setChatMenuButton(self, params: dict[str, Any]) -> bool:
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logOut(self, params: dict[str, Any]) -> bool:
        return True


class _QuietServer(ThreadingHTTPServer):
    """Connections cut by a killed bot are expected, not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore a peer that went away."""


class _ApiError(Exception):
    """An error answer from a method."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _matches(button: str, data: str | None, label: str | None, exact: bool) -> bool:
    """A button named by its callback data or label (or the label's last words)."""
    if exact:
        return button in (data, label)
    return bool(label) and str(label).endswith(" " + button)


def _as_returned(message: dict[str, Any]) -> dict[str, Any]:
    """The Message as Telegram returns it: reply_markup only when it is an inline keyboard."""
    result = {k: v for k, v in message.items() if k != "document_content"}
    markup = result.get("reply_markup")
    if not (isinstance(markup, dict) and "inline_keyboard" in markup):
        result.pop("reply_markup", None)
    return result


def _decode(key: str, value: Any) -> Any:
    """Form fields arrive as strings; Telegram reads the non-text ones as JSON."""
    if not isinstance(value, str) or key in TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Parse multipart/form-data (sendDocument)."""
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            fields[name] = {"filename": filename, "content": data}
        else:
            fields[name] = data.decode("utf-8")
    # PTB sends the file as an attachment named in the "document" field: attach://<name>.
    for key, value in list(fields.items()):
        if isinstance(value, str) and value.startswith("attach://"):
            fields[key] = fields.get(value.removeprefix("attach://"), value)
    return fields


def _scope_key(scope: Any) -> str:
    """ "default", or "chat:<id>" for a chat's own menu."""
    if not isinstance(scope, dict):
        return "default"
    if scope.get("type") == "chat":
        return f"chat:{scope.get('chat_id')}"
    return str(scope.get("type", "default"))


def _chat_int(chat: str) -> int | str:
    try:
        return int(chat)
    except ValueError:
        return chat


@contextmanager
def running(**options: Any) -> Iterator[FakeBotApi]:
    """A started server, for scripts."""
    with FakeBotApi(**options) as server:
        yield server
