"""A friendly word back to "cảm ơn", "xin chào", "ok": not a question for the knowledge base.

The phrases are data (locales/faq/_conversation.toml, table small_talk); the replies are here,
through gettext.
"""

from __future__ import annotations

from functools import cache

from services.core.i18n import N_, _, use_locale
from services.core.text import fold
from services.knowledge.faq import load_conversation

REPLIES = {
    "greeting": N_(
        "Hello! I can tell you whether and when you may give blood, answer your questions "
        "about giving blood, and show the drives near you."
    ),
    "thanks": N_("You are welcome! Thank you for caring about giving blood."),
    "ack": N_("All right! If you need anything else, /help shows what I can do."),
    "bye": N_("Goodbye, and thank you! Write to me any time."),
}


@cache
def _tables() -> tuple[frozenset[str], tuple[tuple[tuple[str, ...], str], ...]]:
    """The fillers, and every phrase (as folded words) with its kind, longest first."""
    table = load_conversation()["small_talk"]
    fillers = frozenset(fold(word) for word in table["fillers"])
    phrases = [
        (tuple(fold(phrase).split()), kind)
        for kind, listed in table["kinds"].items()
        for phrase in listed
        if fold(phrase)
    ]
    phrases.sort(key=lambda item: -len(item[0]))
    return fillers, tuple(phrases)


def kind_of(text: str) -> str | None:
    """The kind of small talk a message is made of only, if any (the last kind found wins)."""
    words = fold(text).split()
    if not words or len(words) > 8:
        return None
    fillers, phrases = _tables()
    kind: str | None = None
    at = 0
    while at < len(words):
        for phrase, phrase_kind in phrases:
            if tuple(words[at : at + len(phrase)]) == phrase:
                kind, at = phrase_kind, at + len(phrase)
                break
        else:
            if words[at] not in fillers:
                return None
            at += 1
    return kind


def small_talk(text: str, locale: str | None = None) -> str | None:
    """The friendly line for a message of small talk, in the locale (default: the current
    language); else None."""
    kind = kind_of(text)
    if kind not in REPLIES:
        return None
    if locale is None:
        return _(REPLIES[kind])
    with use_locale(locale):
        return _(REPLIES[kind])
