"""Console mode: the real handlers, with the terminal standing in for Telegram.

A `BaseRequest` answers the Bot API calls in-process (no token, no network): sent messages are
printed, inline buttons and share buttons become numbered choices, and what the person types is
turned into the same updates Telegram would deliver.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 100000001,
    "is_bot": True,
    "first_name": "Hiến máu",
    "username": "hienmau_console_bot",
}

ReadLine = Callable[[str], Awaitable[str | None]]
Write = Callable[[str], None]


@dataclass
class Choice:
    """A numbered thing the person can pick: an inline button, or a share button."""

    label: str
    kind: str  # "callback" | "contact" | "location"
    data: str = ""
    message: dict[str, Any] | None = None


class ConsoleBotApi:
    """Plays the Bot API for one console user and renders the bot's messages as text."""

    def __init__(
        self, write: Write, user_id: int = 1, first_name: str = "Bạn", language_code: str = "vi"
    ):
        self.write = write
        self.user = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        self.chat = {"id": user_id, "type": "private", "first_name": first_name}
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(int(time.time()))
        self._messages: dict[int, dict[str, Any]] = {}
        self.inline: list[Choice] = []
        self.keyboard: list[Choice] = []
        # Inline buttons stay on their message: a later message of the same answer (say, one
        # that only brings a share-location keyboard) keeps them pickable.
        self._answering = False

    # ------------------------------------------------------------ Bot API side

    def call(self, method: str, params: dict[str, Any], files: dict[str, str] | None = None) -> Any:
        """Answer one Bot API method; `files` maps each uploaded part to its file name.

        Whatever is returned must parse as the real method's result (PTB builds a Message from
        a send*, so a venue needs its location and address)."""
        if method == "getMe":
            return BOT_USER
        if method == "getUpdates":
            return []
        if method == "sendMessage":
            return self._send(params)
        if method in ("editMessageText", "editMessageReplyMarkup"):
            return self._edit(params)
        if method == "answerCallbackQuery":
            if params.get("text"):
                self.write(f"   ({params['text']})")
            return True
        if method == "sendVenue":
            lat, lon = float(params["latitude"]), float(params["longitude"])
            title, address = str(params.get("title", "")), str(params.get("address", ""))
            self._show(params, f"📍 {title}, {address} ({lat}, {lon})")
            venue = {
                "location": {"latitude": lat, "longitude": lon},
                "title": title,
                "address": address,
            }
            return self._stored(params, {"venue": venue})
        if method == "sendDocument":
            name = next(iter((files or {}).values()), None) or str(params.get("document", "file"))
            self._show(params, f"📎 {name}")
            document = {"file_id": "console", "file_unique_id": "console", "file_name": name}
            return self._stored(params, {"document": document})
        if method == "sendPhoto":
            name = next(iter((files or {}).values()), None) or "picture"
            self._show(params, f"🖼 {name}")
            photo = [{"file_id": "console", "file_unique_id": "console", "width": 1, "height": 1}]
            return self._stored(params, {"photo": photo})
        if method.startswith("send"):  # sendLocation…: say that something came
            self._show(params, f"({method})")
            return self._stored(params, {})
        return True  # setMyCommands, deleteWebhook, deleteMessage…: nothing to show

    def _show(self, params: dict[str, Any], line: str) -> None:
        """Print a message without text, marked when it went to someone else's chat."""
        chat_id = params.get("chat_id", self.user["id"])
        self.write(f"\n{line}" if self._is_mine(chat_id) else f"   (→ {chat_id}: {line})")

    def _is_mine(self, chat_id: object) -> bool:
        """Whether a chat id is this console person's."""
        return str(chat_id) == str(self.user["id"])

    def _stored(self, params: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
        """A message without text (venue, document), as the Bot API returns it."""
        message_id = next(self._message_ids)
        chat = (
            self.chat
            if self._is_mine(params.get("chat_id", self.user["id"]))
            else {
                "id": int(params["chat_id"]),
                "type": "private",
            }
        )
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }
        self._messages[message_id] = message
        return message

    def _edit(self, params: dict[str, Any]) -> Any:
        """Change a shown message; a new text is printed, unless it only marks a tapped button."""
        message = self._messages.get(int(params.get("message_id", 0)))
        if message is None:
            return True
        if "text" in params:
            old, new = str(message.get("text", "")), str(params["text"])
            message["text"] = new
            if new != old and not new.startswith(old + "\n\n→ "):
                lines = new.splitlines() or [""]
                if self._is_mine(message["chat"]["id"]):
                    self.write("")
                    self.write(f"✏️  {lines[0]}")
                    for line in lines[1:]:
                        self.write(f"   {line}".rstrip())
                else:
                    self.write(f"   (→ {message['chat']['id']}: ✏️  {lines[0]})")
        message.pop("reply_markup", None)
        return message

    def _send(self, params: dict[str, Any]) -> dict[str, Any]:
        """Print a message and remember its buttons as numbered choices."""
        if not self._is_mine(params.get("chat_id", self.user["id"])):
            # A broadcast to someone else: show that it went, without taking over the choices.
            first = str(params.get("text", "")).splitlines()[:1]
            self.write(f"   (→ {params.get('chat_id')}: {first[0] if first else ''})")
            return self._stored(params, {"text": params.get("text", "")})
        message_id = next(self._message_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.chat,
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if not self._answering or (isinstance(markup, dict) and "inline_keyboard" in markup):
            self.inline = []
        self._answering = True
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
            for row in markup["inline_keyboard"]:
                for button in row:
                    self.inline.append(
                        Choice(button["text"], "callback", button["callback_data"], message)
                    )
        elif isinstance(markup, dict) and "keyboard" in markup:
            self.keyboard = []
            for row in markup["keyboard"]:
                for button in row:
                    kind = (
                        "contact"
                        if button.get("request_contact")
                        else "location"
                        if button.get("request_location")
                        else "text"
                    )
                    self.keyboard.append(Choice(button["text"], kind))
        elif isinstance(markup, dict) and markup.get("remove_keyboard"):
            self.keyboard = []
        self._messages[message_id] = message
        self.write("")
        for index, line in enumerate(str(message["text"]).splitlines() or [""]):
            self.write(f"🤖 {line}" if index == 0 else f"   {line}".rstrip())
        for number, choice in enumerate(self.choices, start=1):
            self.write(f"   [{number}] {choice.label}")
        return message

    @property
    def choices(self) -> list[Choice]:
        """What a typed number picks: the latest inline buttons, then the reply keyboard."""
        return self.inline + self.keyboard

    # ------------------------------------------------------------ person side

    async def update_for(self, line: str, read_line: ReadLine) -> dict[str, Any] | None:
        """Turn a typed line into the update Telegram would send."""
        self._answering = False
        text = line.strip()
        if not text:
            return None
        if text.isdigit() and 1 <= int(text) <= len(self.choices):
            choice = self.choices[int(text) - 1]
            if choice.kind == "callback":
                return self._update(
                    callback_query={
                        "id": str(next(self._update_ids)),
                        "from": self.user,
                        "chat_instance": "console",
                        "message": choice.message,
                        "data": choice.data,
                    }
                )
            if choice.kind == "contact":
                phone = await read_line("   📱 phone number to share / số điện thoại: ")
                if not phone:
                    return None
                return self._message(
                    contact={
                        "phone_number": phone.strip(),
                        "first_name": self.user["first_name"],
                        "user_id": self.user["id"],
                    }
                )
            if choice.kind == "location":
                raw = await read_line("   📍 latitude, longitude (e.g. 10.7769, 106.7009): ")
                try:
                    lat, lon = (float(part) for part in (raw or "").replace(";", ",").split(","))
                except ValueError:
                    self.write("   (expected two numbers separated by a comma)")
                    return None
                return self._message(location={"latitude": lat, "longitude": lon})
            text = choice.label
        extra: dict[str, Any] = {}
        if text.startswith("/"):
            extra["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
        return self._message(text=text, **extra)

    def _message(self, **content: Any) -> dict[str, Any]:
        """A message update from the console user."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self.chat,
            "from": self.user,
            **content,
        }
        return self._update(message=message)

    def _update(self, **content: Any) -> dict[str, Any]:
        """Wrap content in an update with a fresh id."""
        return {"update_id": next(self._update_ids), **content}


class ConsoleRequest(BaseRequest):
    """A `BaseRequest` that never touches the network."""

    def __init__(self, api: ConsoleBotApi):
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        """No network, no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the call locally."""
        params = request_data.parameters if request_data else {}
        files = {
            part: str(field[0])
            for part, field in (request_data.multipart_data if request_data else {}).items()
        }
        result = self.api.call(url.rsplit("/", 1)[-1], dict(params), files)
        return 200, json.dumps({"ok": True, "result": result}).encode()


async def stdin_line(prompt: str) -> str | None:
    """Read a line without blocking the event loop; None at end of input."""

    def read() -> str | None:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        line = sys.stdin.readline()
        return line.rstrip("\n") if line else None

    return await asyncio.get_running_loop().run_in_executor(None, read)


async def converse(
    app: Application, api: ConsoleBotApi, read_line: ReadLine, opening: str | None = "/start"
) -> None:
    """Feed typed lines to the application until end of input or /quit.

    The `opening` line goes first, as Telegram's Start button sends /start: the person sees the
    greeting (for someone new, the language choice) instead of a silent prompt."""
    if opening is not None:
        api.write(f"\n> {opening}")
        await _feed(app, api, opening, read_line)
    while True:
        line = await read_line("\n> ")
        if line is None or line.strip() in ("/quit", "/exit"):
            return
        await _feed(app, api, line, read_line)


async def _feed(app: Application, api: ConsoleBotApi, line: str, read_line: ReadLine) -> None:
    """One typed line, as the update Telegram would deliver."""
    update = await api.update_for(line, read_line)
    if update is not None:
        await app.process_update(Update.de_json(update, app.bot))
