"""Every user-facing string has its Vietnamese and English text, with the same placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.core.i18n import _, ngettext, translations, use_locale

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def catalog(locale: str):
    with (ROOT / "locales" / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_catalogs_cover_every_string_in_the_code(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "--no-location",
            "--omit-header",
            "-o",
            str(pot),
            "handlers",
            "services",
            "bot.py",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    for locale in ("vi", "en"):
        have = {
            m.id if isinstance(m.id, str) else m.id[0] for m in catalog(locale) if m.id and m.string
        }
        missing = sorted(wanted - have)
        assert not missing, f"{locale}: untranslated {missing[:5]}"


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_placeholders_match(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == expected, message.id


def test_vietnamese_has_diacritics_and_one_plural_form() -> None:
    vi = catalog("vi")
    assert vi.num_plurals == 1
    with use_locale("vi"):
        assert _("Your blood group?") == "Nhóm máu của bạn?"
    with use_locale("en"):
        assert _("Your blood group?") == "Your blood group?"
    assert translations("vi").ngettext("a", "b", 5) in ("a", "b")
    with use_locale("vi"):
        assert ngettext("{n} day", "{n} days", 2)


def test_vietnamese_uses_one_tone_mark_style() -> None:
    # "khỏe, hủy, xóa, hòa": the mark on the first vowel of oa, oe, uy, everywhere.
    other_style = re.compile(r"(?<![q])(?:o[àáảãạ]|o[èéẻẽẹ]|u[ỳýỷỹỵ])(?![a-zà-ỹđ])", re.IGNORECASE)
    # … but before a consonant the mark stays on the main vowel: "toàn", "hoàn", "thoát".
    misplaced = re.compile(r"(?<![q])[òóỏõọùúủũụ][aey][a-zà-ỹđ]", re.IGNORECASE)
    for message in catalog("vi"):
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in strings:
            assert not other_style.search(text), text
            assert not misplaced.search(text), text  # "toàn", not "tòan"
