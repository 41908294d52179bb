"""Choices as numbered lines, typed answers read back, plain-word commands, and long texts split:
what a channel without buttons or a command menu (Zalo) needs.

A reply's buttons become lines "1. ✍️ Đăng ký tham gia" and a hint "Trả lời 1, 2 hoặc 3." in
the reader's language. What the numbers stand for (`Offered`) is returned with the text; it is
plain JSON (`to_json`/`from_json`), to be stored with the conversation state, so a "2" typed
after a restart still means what the person saw. The numbers run on across the replies of one
answer (`Numbering`): two drive cards each with "Đăng ký" are 1 and 2, never both 1.

A typed answer picks a choice by its number ("2", "2.", " 2 ", "số 2") or by the words of its
label, with or without diacritics and case ("dang ky tham gia"); two choices with those words,
or none, give None: the person is asked by number. Commands are typed as plain words too
("dừng", "hủy", "trợ giúp", "/start"). A text longer than the channel takes is split at
paragraphs, then lines, then words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.conversation.dialog import Button, Reply
from services.core.i18n import _
from services.core.text import fold, utf16_length

LISTED_NUMBERS = 4  # "Reply 1, 2, 3 or 4"; with more choices: "Reply a number from 1 to 7"
TEXT_LIMIT = 2000  # Zalo's characters per message (counted in UTF-16 units, as the safe side)
MIN_PARTIAL = 3  # letters typed before a part of a label may stand for the whole label
_NUMBER = re.compile(r"^\s*(?:#|s[oố]\s*)?(\d{1,3})\s*[.)]?\s*$", re.IGNORECASE)
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\S+)?$")


# ------------------------------------------------------------ choices offered


@dataclass(frozen=True)
class Choice:
    """One numbered line: what it says and the button data it stands for."""

    number: int
    label: str
    data: str


@dataclass(frozen=True)
class Offered:
    """The numbers a person was offered last, and what each stands for."""

    choices: tuple[Choice, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.choices)

    def to_json(self) -> list[list[Any]]:
        """[[number, label, data], …]: for the conversation state's JSON."""
        return [[c.number, c.label, c.data] for c in self.choices]

    @classmethod
    def from_json(cls, value: Any) -> Offered:
        """What `to_json` stored; anything malformed reads as nothing offered."""
        if not isinstance(value, list):
            return cls()
        choices = []
        for item in value:
            if not (isinstance(item, list) and len(item) == 3):
                return cls()
            number, label, data = item
            if not (isinstance(number, int) and isinstance(label, str) and isinstance(data, str)):
                return cls()
            choices.append(Choice(number, label, data))
        return cls(tuple(choices))

    @property
    def next_number(self) -> int:
        """The number after the highest one offered (1 when none is)."""
        return max((c.number for c in self.choices), default=0) + 1

    def then(self, later: Offered) -> Offered:
        """These choices and those shown after them; a number both use means the later one."""
        taken = {c.number for c in later.choices}
        kept = tuple(c for c in self.choices if c.number not in taken)
        return Offered(kept + later.choices)

    def number(self, number: int) -> Choice | None:
        """The choice shown with this number."""
        return next((c for c in self.choices if c.number == number), None)

    def match(self, text: str, *, partial: bool = True) -> str | None:
        """The button data a typed answer picks, or None when it picks none or several.

        By number first; then by the label's words, whole; then (with `partial`, off where any
        free text is a valid answer) by a run of the label's words that only one label has."""
        numbered = _NUMBER.match(text)
        if numbered is not None:
            choice = self.number(int(numbered.group(1)))
            return choice.data if choice is not None else None
        key = choice_key(text)
        if not key:
            return None
        whole = {c.data for c in self.choices if choice_key(c.label) == key}
        if whole or not partial:
            return whole.pop() if len(whole) == 1 else None
        if len(key.replace(" ", "")) < MIN_PARTIAL:
            return None
        words = key.split()
        some = {c.data for c in self.choices if _holds(choice_key(c.label).split(), words)}
        return some.pop() if len(some) == 1 else None


@dataclass
class Numbering:
    """Numbers running on across the replies of one answer, and what they stand for.

    `planned`: the numbers already stored for these buttons (the chat service stores them in
    the turn's transaction, services/conversation/offered_store.py); the text shows those, so
    what the person reads is what a typed number picks."""

    start: int = 1
    choices: list[Choice] = field(default_factory=list)
    planned: Offered | None = None

    @property
    def offered(self) -> Offered:
        """Every choice numbered so far."""
        return Offered(tuple(self.choices))

    def render(self, reply: Reply) -> str:
        """The reply's text with its buttons as numbered lines and the hint after them."""
        buttons = [b for row in reply.buttons for b in row]
        if not buttons:
            return reply.text
        lines = [reply.text] if reply.text else []
        numbers = []
        for button in buttons:
            number = self._number(button)
            self.choices.append(Choice(number, button.label, button.data))
            numbers.append(number)
        block = "\n".join(f"{n}. {b.label}" for n, b in zip(numbers, buttons, strict=True))
        lines.append(block + "\n" + choose_hint(numbers))
        return "\n\n".join(lines)

    def _number(self, button: Button) -> int:
        """The planned number of the next button (when the plan has it), else the next one."""
        index = len(self.choices)
        if self.planned is not None and index < len(self.planned.choices):
            choice = self.planned.choices[index]
            if choice.data == button.data:
                return choice.number
        return self.start + index


def offer(replies: Iterable[Reply], start: int = 1) -> Offered:
    """The numbers an answer's buttons get, in the order a channel shows them (as `Numbering`
    renders them, without wording anything)."""
    return Offered(
        tuple(Choice(start + i, b.label, b.data) for i, b in enumerate(buttons_of(replies)))
    )


def numbered(reply: Reply, start: int = 1) -> tuple[str, Offered]:
    """One reply's text with numbered choices, and what the numbers stand for."""
    numbering = Numbering(start)
    return numbering.render(reply), numbering.offered


def choose_hint(numbers: list[int]) -> str:
    """ "Trả lời 1, 2 hoặc 3." / "Reply 1, 2 or 3." in the current language."""
    if len(numbers) == 1:
        return _("Reply {number} to choose it.").format(number=numbers[0])
    if len(numbers) <= LISTED_NUMBERS:
        return _("Reply {numbers} or {last}.").format(
            numbers=", ".join(str(n) for n in numbers[:-1]), last=numbers[-1]
        )
    return _("Reply a number from {first} to {last}.").format(first=numbers[0], last=numbers[-1])


def buttons_of(replies: Iterable[Reply]) -> list[Button]:
    """Every button of an answer, in the order they are numbered."""
    return [b for reply in replies for row in reply.buttons for b in row]


def choice_key(label: str) -> str:
    """A label or a typed answer as they are compared: folded (no case, diacritics, đ, emoji
    or punctuation), but with "+" and "-" kept apart ("A+" is not "A-")."""
    signs = label.replace("+", " plus ").replace("−", " minus ").replace("-", " minus ")
    return fold(signs)


def _holds(label: list[str], words: list[str]) -> bool:
    """Whether the label's words hold the typed words, in a row."""
    size = len(words)
    return any(label[i : i + size] == words for i in range(len(label) - size + 1))


# ------------------------------------------------------------ commands as plain words

# Typed words that mean a command (as the text reads once lower-cased, NFC, spaces collapsed and
# trailing punctuation dropped). Without diacritics only where that stays unambiguous: "dung" is
# also "đúng" (yes) and the name Dũng, "huy" the name Huy, so those two need their marks.
PLAIN_COMMANDS = {
    "dừng": "stop",
    "dừng lại": "stop",
    "stop": "stop",
    "hủy": "cancel",
    "huỷ": "cancel",
    "cancel": "cancel",
    "trợ giúp": "help",
    "tro giup": "help",
    "giúp tôi": "help",
    "help": "help",
    "bắt đầu": "start",
    "bat dau": "start",
    "start": "start",
    "quay lại": "back",
    "back": "back",
}


@dataclass(frozen=True)
class Picked:
    """A typed answer that picks one of the choices offered: its button data."""

    data: str


@dataclass(frozen=True)
class CommandWords:
    """A typed command: its name in the command registry and what followed it."""

    name: str
    args: tuple[str, ...] = ()


def plain_command(text: str) -> CommandWords | None:
    """ "/start drive_12", "/Help", "dừng", "trợ giúp"… as a command; None for anything else.

    A slash word is returned whatever it names: the router reads a command it does not have as
    text, as it does on Telegram."""
    words = text.split()
    if not words:
        return None
    slash = _COMMAND.match(words[0])
    if slash is not None:
        return CommandWords(slash.group(1).lower(), tuple(words[1:]))
    normal = " ".join(unicodedata.normalize("NFC", text).lower().split()).strip(" .!?…")
    name = PLAIN_COMMANDS.get(normal)
    return CommandWords(name) if name is not None else None


def interpret(text: str, offered: Offered, *, partial: bool = True) -> Picked | CommandWords | None:
    """What a typed line means where no button can be tapped, None for text to read as such.

    A slash command first; then a number or a label's whole words (the person answers what
    they see); then a plain-word command; then part of one label's words (`partial`)."""
    slash = plain_command(text) if text.lstrip().startswith("/") else None
    if slash is not None:
        return slash
    chosen = offered.match(text, partial=False)
    if chosen is not None:
        return Picked(chosen)
    command = plain_command(text)
    if command is not None:
        return command
    chosen = offered.match(text, partial=True) if partial else None
    return Picked(chosen) if chosen is not None else None


# ------------------------------------------------------------ splitting

_SEPARATORS = ("\n\n", "\n", " ")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters (UTF-16 units: an emoji counts 2, as some platforms
    count it), cut at paragraphs, else lines, else words, else (one word longer than a part, a
    long link) inside the word. No part is empty or starts or ends with blank space."""
    if limit < 1:
        raise ValueError("the limit must be positive")
    parts = [p.strip() for p in _split(text.strip(), 0, limit)]
    return [p for p in parts if p]


def _split(text: str, level: int, limit: int) -> list[str]:
    if utf16_length(text) <= limit:
        return [text]
    if level == len(_SEPARATORS):
        return _cut(text, limit)
    separator = _SEPARATORS[level]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        joined = f"{current}{separator}{piece}" if current else piece
        if utf16_length(joined) <= limit:
            current = joined
            continue
        if current:
            parts.append(current)
        if utf16_length(piece) <= limit:
            current = piece
        else:  # a paragraph (line, word) too long alone: cut it finer; its tail may take more
            finer = _split(piece, level + 1, limit)
            parts.extend(finer[:-1])
            current = finer[-1]
    if current:
        parts.append(current)
    return parts


def _cut(text: str, limit: int) -> list[str]:
    """Cut inside a word, never inside a character."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts
