"""Logging that keeps personal data out: no token, phone, name or message text in any line.

Three layers: the libraries that dump whole requests and updates at DEBUG (PTB, httpx, the
database drivers) are held at a level where they do not; the database engine hides bound
parameters (models/database.py); and every line, traceback included, is scrubbed of anything
shaped like a bot token or a phone number before it is written.
"""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Library loggers and the lowest level at which their lines carry no personal data.
QUIET_LIBRARIES = {
    "telegram": logging.INFO,  # DEBUG: every update and request body (names, texts, phones)
    "httpx": logging.WARNING,  # INFO: request URLs, which contain the token
    "httpcore": logging.WARNING,
    "aiosqlite": logging.WARNING,  # DEBUG: each statement with its parameters
    "asyncpg": logging.WARNING,
    "sqlalchemy.engine": logging.WARNING,  # INFO: statements and parameters
    "sqlalchemy.pool": logging.WARNING,
    "apscheduler": logging.WARNING,
}

_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
# Vietnamese mobiles and landlines (0…, 84…, +84…) and any other E.164 number.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{8,15}|(?:84|0)\d{8,10})(?![\w.])")


# PostgreSQL's "DETAIL: Key (chat_id)=(123) already exists." quotes the values.
_KEY_DETAIL = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^)]*\))*\)")


def scrub(text: str) -> str:
    """The text with tokens, phone numbers and quoted key values replaced."""
    text = _KEY_DETAIL.sub(r"\1=(<hidden>)", text)
    return _PHONE.sub("<phone>", _TOKEN.sub("<token>", text))


class ScrubbingFormatter(logging.Formatter):
    """A formatter whose output (message, arguments and traceback) is scrubbed."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(level: str) -> None:
    """Root handler with the scrubbing formatter; noisy libraries held back."""
    handler = logging.StreamHandler()
    handler.setFormatter(ScrubbingFormatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, floor in QUIET_LIBRARIES.items():
        library = logging.getLogger(name)
        library.setLevel(max(floor, root.level))
