"""Text normalisation shared by every free-text matcher (wards, FAQ, keywords)."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")
TELEGRAM_LIMIT = 4096  # characters of one message (Bot API sendMessage)


def fold(text: str) -> str:
    """Lower-case, strip Vietnamese diacritics (đ → d) and collapse punctuation to single spaces.

    "Phường Sài Gòn, TP.HCM" → "phuong sai gon tp hcm"
    """
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text.lower())
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return _NON_WORD.sub(" ", stripped).strip()


def compact(text: str) -> str:
    """Fold and remove spaces: "Sài Gòn" → "saigon" (the key style of the ward data)."""
    return fold(text).replace(" ", "")


# Characters that render as nothing: zero-width spaces and joiners, the BOM, soft hyphens, and
# the Hangul/braille fillers people paste to fake an empty answer.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u3164\u115f\u1160\u2800"), None
)


def clean_input(text: str) -> str:
    """What a person typed, as the bot reads it: NFC (Unikey's "tổ hợp" accents composed), no NUL
    or other control characters (PostgreSQL refuses NUL), newlines and tabs kept."""
    composed = unicodedata.normalize("NFC", text)
    return "".join(
        ch
        for ch in composed
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


def visible(text: str) -> str:
    """The text without invisible characters, stripped: empty when nothing would show."""
    return text.translate(_INVISIBLE).strip()


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji is 2)."""
    return len(text.encode("utf-16-le")) // 2
