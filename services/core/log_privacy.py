"""Logging that keeps personal data out: no token, phone, name or message text in any line.

Three layers: the libraries that dump whole requests and updates at DEBUG (PTB, httpx, the
database drivers) are held at a level where they do not; the database engine hides bound
parameters (models/database.py); and every line, traceback included, is scrubbed of anything
shaped like a bot token or a phone number before it is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

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
# A Zalo Bot Platform token: its bot id (15 to 20 digits), a colon, a secret of its own shape.
_ZALO_TOKEN = re.compile(r"\d{15,20}:[^\s/\"'<>]{8,}")
# Vietnamese mobiles and landlines (0…, 84…, +84…) and any other E.164 number.
_PHONE = re.compile(r"(?<![\w.])(?:\+\d{8,15}|(?:84|0)\d{8,10})(?![\w.])")


# PostgreSQL's "DETAIL: Key (chat_id)=(123) already exists." quotes the values.
_KEY_DETAIL = re.compile(r"(Key \([^)]*\))=\((?:[^()]|\([^)]*\))*\)")


def scrub(text: str) -> str:
    """The text with tokens, phone numbers and quoted key values replaced."""
    text = _KEY_DETAIL.sub(r"\1=(<hidden>)", text)
    text = _ZALO_TOKEN.sub("<token>", _TOKEN.sub("<token>", text))
    return _PHONE.sub("<phone>", text)


def _scrub_values(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """structlog processor: every string value scrubbed before it is rendered."""
    return {k: scrub(v) if isinstance(v, str) else v for k, v in event.items()}


# What every line gets, from structlog or from a library's stdlib logger alike.
_SHARED: list[Any] = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class ScrubbingFormatter(structlog.stdlib.ProcessorFormatter):
    """Renders every record (a library's, or a structured event) as one line, JSON or readable;
    the whole output, traceback included, is scrubbed."""

    def __init__(self, json_lines: bool = False) -> None:
        renderer: Any = (
            structlog.processors.JSONRenderer(ensure_ascii=False)
            if json_lines
            else structlog.dev.ConsoleRenderer(colors=False)
        )
        super().__init__(
            foreign_pre_chain=_SHARED,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info if json_lines else _keep,
                _scrub_values,
                renderer,
            ],
        )

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def _keep(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Mapping[str, Any]:
    """The console renderer prints tracebacks itself."""
    return event


def configure_logging(level: str, json_lines: bool = False) -> None:
    """Root handler with the scrubbing formatter (JSON lines in production, readable in a
    terminal); structlog's loggers go through it too; noisy libraries held back."""
    handler = logging.StreamHandler()
    handler.setFormatter(ScrubbingFormatter(json_lines))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name, floor in QUIET_LIBRARIES.items():
        library = logging.getLogger(name)
        library.setLevel(max(floor, root.level))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
