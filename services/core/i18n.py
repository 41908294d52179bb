"""Per-update locale and gettext lookups backed by the Babel catalogs in locales/.

The .po files are compiled in memory at first use, so a fresh clone needs no build step.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
SUPPORTED = ("vi", "en")
DEFAULT = "vi"

_current: ContextVar[str] = ContextVar("locale", default=DEFAULT)


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    """The compiled catalog for a locale (English msgids fall back to themselves)."""
    po_path = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return _gettext.NullTranslations()
    with po_path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def pick_locale(stored: str | None, client_language: str | None, default: str = DEFAULT) -> str:
    """The donor's stored choice, else the app's language setting, else the default."""
    if stored in SUPPORTED:
        return stored
    if client_language:
        short = client_language.split("-")[0].lower()
        if short in SUPPORTED:
            return short
    return default


def set_locale(locale: str) -> None:
    """Set the locale for the rest of this task (one update)."""
    _current.set(locale if locale in SUPPORTED else DEFAULT)


def get_locale() -> str:
    """The locale in force."""
    return _current.get()


@contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Temporarily switch locale, e.g. per recipient in a broadcast loop."""
    token = _current.set(locale if locale in SUPPORTED else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """Translate into the current locale."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count (Vietnamese has one plural form)."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message
