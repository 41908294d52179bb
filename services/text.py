"""Text normalisation shared by every free-text matcher (wards, FAQ, keywords)."""

import re
import unicodedata

_NON_WORD = re.compile(r"[^0-9a-z]+")


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
