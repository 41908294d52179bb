"""The FAQ knowledge base and its matcher (services/faq.py): no database, no network."""

from __future__ import annotations

import tomllib

import pytest

from services.faq import FAQ_DIR, FaqIndex, FaqMatch, load_calibration, load_entries, match


@pytest.fixture(scope="module")
def index() -> FaqIndex:
    """The index of locales/faq, built once for the module."""
    return FaqIndex.load()


def test_every_topic_file_parses_and_has_entries() -> None:
    """Each topic file is valid TOML with at least one entry; the calibration file has messages."""
    topic_files = [p for p in sorted(FAQ_DIR.glob("*.toml")) if not p.name.startswith("_")]
    assert topic_files
    for path in topic_files:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        assert data.get("entries"), f"{path.name} has no entries"
    assert len(load_calibration()) >= 30


def test_entries_are_complete_and_ids_unique() -> None:
    """Every entry has an id, both answers and questions in both languages; ids are unique."""
    entries = load_entries()
    ids = [entry.id for entry in entries]
    assert len(ids) == len(set(ids))
    for entry in entries:
        assert entry.id and entry.topic
        assert entry.answer_vi and entry.answer_en, entry.id
        assert entry.questions_vi and entry.questions_en, entry.id
        assert all(q.strip() for q in (*entry.questions_vi, *entry.questions_en)), entry.id


def test_eligibility_answers_leave_the_decision_to_the_doctor() -> None:
    """Answers about who may give end with the idea that the screening doctor decides."""
    for entry in load_entries():
        if entry.topic in ("rules", "deferrals"):
            assert "bác sĩ" in entry.answer_vi.lower(), entry.id
            assert "doctor" in entry.answer_en.lower(), entry.id


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Xăm hình xong bao lâu thì được hiến máu?", "tattoo"),
        ("xam hinh xong bao lau thi duoc hien mau", "tattoo"),
        ("Nặng 40 ký có được hiến máu không?", "weight"),
        ("nang 40kg co hien mau dc ko", "weight"),
        ("Đang mang thai có cho máu được không?", "pregnancy"),
        ("hien mau xong bi chong mat phai lam sao", "after_dizzy"),
        ("How long after a tattoo can I give blood?", "tattoo"),
        ("Can I donate blood if I have diabetes?", "chronic_disease"),
        ("Do blood donors get paid?", "benefits"),
    ],
)
def test_representative_questions_reach_their_entry(
    index: FaqIndex, question: str, expected: str
) -> None:
    """Questions in both languages, with and without diacritics, find the right entry."""
    found = index.match(question, "vi")
    assert found is not None, question
    assert found.entry.id == expected


def test_answer_follows_the_locale(index: FaqIndex) -> None:
    """The answer is given in the locale asked for, whatever the question's language."""
    vi = index.match("Xăm hình có hiến máu được không?", "vi")
    en = index.match("Xăm hình có hiến máu được không?", "en")
    assert isinstance(vi, FaqMatch) and isinstance(en, FaqMatch)
    assert vi.answer == vi.entry.answer_vi
    assert en.answer == en.entry.answer_en
    assert 0.0 < vi.score <= 1.5


@pytest.mark.parametrize(
    "message", ["thời tiết hôm nay", "what time is it", "chào bot", "hello", "cảm ơn nhiều"]
)
def test_off_topic_messages_get_no_answer(index: FaqIndex, message: str) -> None:
    """Chit-chat and other subjects are answered "I don't know" (None)."""
    assert index.match(message, "vi") is None


@pytest.mark.parametrize("text", ["", "   ", "?!", "hiến máu " * 200, "x" * 5000])
def test_empty_or_overlong_input_returns_none(index: FaqIndex, text: str) -> None:
    """Empty, punctuation-only or overlong input returns None without raising."""
    assert index.match(text, "vi") is None


def test_rank_orders_entries(index: FaqIndex) -> None:
    """rank gives entries best first, with scores, without applying the threshold."""
    ranked = index.rank("tattoo", 3)
    assert ranked and ranked[0][0].id == "tattoo"
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    assert index.rank("", 3) == []


def test_module_level_match_uses_the_default_index() -> None:
    """services.faq.match answers from the default index."""
    found = match("Bao nhiêu tuổi thì được hiến máu?")
    assert found is not None and found.entry.id == "age"
