"""The FAQ knowledge base and its matcher (services/faq.py): no database, no network."""

from __future__ import annotations

import tomllib

import pytest

from services.core.text import fold
from services.knowledge.faq import (
    FAQ_DIR,
    FaqIndex,
    FaqMatch,
    load_calibration,
    load_entries,
    looks_like_question,
    match,
)
from services.knowledge.small_talk import small_talk
from services.knowledge.wards import wards


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


# --- issue 7, item 13 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("hiến tiểu cầu bao lâu 1 lần", "interval_apheresis"),
        ("hien tieu cau bao lau 1 lan", "interval_apheresis"),
        ("tôi muốn hiến máu", "want_to_donate"),
        ("toi muon hien mau", "want_to_donate"),
        ("I want to give blood", "want_to_donate"),
        ("em mới nhổ răng hôm qua", "dental"),
        ("em moi nho rang hom qua", "dental"),
        ("I had a tooth out last week", "dental"),
        ("bao giờ tôi được hiến lại", "interval_whole_blood"),
        ("bao gio toi duoc hien lai", "interval_whole_blood"),
        ("When can I give again?", "interval_whole_blood"),
        ("toi khong muon cho ten that", "why_name_phone"),
        ("Why do you need my phone?", "why_name_phone"),
        ("I weigh 43 kg", "weight"),
        ("toi nang 43,5 kg", "weight"),
        ("where is the nearest blood drive", "where_to_donate"),
    ],
)
def test_issue_questions_reach_their_entry(index: FaqIndex, question: str, expected: str) -> None:
    """The misses of issue 7: typed with or without diacritics, they find the same entry."""
    found = index.match(question, "vi")
    assert found is not None, question
    assert found.entry.id == expected
    assert found.margin >= 1.0


@pytest.mark.parametrize(
    "message", ["where is the nearest ATM", "atm gần nhất ở đâu", "cây xăng gần nhất ở đâu"]
)
def test_where_and_nearest_alone_are_not_a_donation_question(index: FaqIndex, message: str) -> None:
    """A question must name what it is about: "where" and "nearest" alone are not enough."""
    assert index.match(message, "vi") is None


def test_new_answers_point_to_what_to_do() -> None:
    """The core intent points to the check and the drives; dental work leaves it to the doctor
    without the 12 months of surgery; the name/phone objection says how to delete."""
    entries = {entry.id: entry for entry in load_entries()}
    want = entries["want_to_donate"]
    for answer in (want.answer_vi, want.answer_en):
        assert "/eligibility" in answer and "/drives" in answer
    dental = entries["dental"]
    assert "12" not in dental.answer_vi and "bác sĩ" in dental.answer_vi
    assert "nhổ răng" not in entries["surgery"].keywords
    for answer in (entries["why_name_phone"].answer_vi, entries["why_name_phone"].answer_en):
        assert "/forget" in answer


QUESTIONS = [
    "bao lâu thì được hiến máu lại",
    "bao lau thi duoc hien mau lai",
    "toi khong muon cho ten that",
    "Why do you need my phone?",
    "why do you need my phone",
    "tại sao cần số điện thoại",
    "tai sao can so dien thoai",
    "sao phải cho tên thật",
    "hien mau dc ko",
    "xăm hình có hiến được không",
    "khi nào có đợt hiến",
    "mấy tháng hiến 1 lần",
    "cái này là gì",
    "can i donate after a tattoo",
    "do you store my data",
    "should i eat before",
    "how long after a tattoo",
    "tôi có hiến được không",
    "BAO LÂU THÌ ĐƯỢC HIẾN LẠI",
    "không?",
    "em mới nhổ răng hôm qua",
]
ANSWERS = [
    "Nguyễn Văn An",
    "Lê Thị Mai",
    "Trần Sao Mai",
    "tran sao mai",
    "TRẦN SAO MAI",
    "Đinh Thị Gì",
    "Lê Thị Sao",
    "le thi sao",
    "Sao Mai",
    "Đỗ Văn Hiến",
    "do van hien",
    "Phường Bến Nghé",
    "phuong ben nghe",
    "Phường Trung Tâm",
    "Phường La Gi",
    "phuong la gi",
    "La Gi",
    "Xã Ba Sao",
    "xã sao vàng",
    "sao vang",
    "Xã Bản Máy",
    "Xã Đề Gi",
    "Phường Hồng Hà, Hà Nội",
    "12/05/1990",
    "1990",
    "0903123456",
    "+84 903 123 456",
    "45",
    "45 kg",
    "có",
    "không",
    "Có",
    "không ạ",
    "dạ có",
    "yes",
    "no",
    "nữ",
    "toàn phần",
    "tiểu cầu",
    "chưa bao giờ",
    "chua bao gio",
    "chưa hiến máu bao giờ",
    "never",
    "tháng 9 năm nay",
    "thứ 7 tuần sau",
    "Nhà văn hóa phường",
    "tôi đồng ý",
]


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_look_like_questions(text: str) -> None:
    """A question typed at a step (question mark, question word, confident FAQ match)."""
    assert looks_like_question(text, "vi")


@pytest.mark.parametrize("text", ANSWERS)
def test_answers_do_not_look_like_questions(text: str) -> None:
    """Names and places holding question words ("Sao", "Gi"), dates, phones, numbers, yes/no."""
    assert not looks_like_question(text, "vi")


def test_every_ward_name_is_an_answer() -> None:
    """No ward of data/wards.json, with or without its kind, typed as listed, in lower case or
    plain, looks like a question."""
    asked = [
        text
        for ward in wards()
        for name in (ward.name, ward.short_name, ward.label)
        for text in (name, name.lower(), fold(name))
        if looks_like_question(text, "vi")
    ]
    assert asked == []


@pytest.mark.parametrize(
    ("text", "locale", "start"),
    [
        ("cảm ơn", "vi", "Không có gì"),
        ("thanks", "en", "You are welcome"),
        ("xin chào", "vi", "Xin chào"),
        ("hello", "en", "Hello"),
        ("hi", "vi", "Xin chào"),
        ("chào bot", "en", "Hello"),
        ("ok", "vi", "V"),
        ("dạ", "vi", "V"),
        ("vâng", "en", "All right"),
        ("ok cảm ơn nhé", "vi", "Không có gì"),
    ],
)
def test_small_talk_gets_a_friendly_line_in_the_locale(text: str, locale: str, start: str) -> None:
    """Greetings, thanks and "ok" get a short friendly line in the person's language."""
    line = small_talk(text, locale)
    assert line is not None and line.startswith(start)


@pytest.mark.parametrize(
    "text", ["cảm ơn, xăm hình bao lâu thì hiến được", "có", "không", "Nguyễn Văn An", ""]
)
def test_other_messages_are_not_small_talk(text: str) -> None:
    """A question, a yes/no answer or a name is not small talk."""
    assert small_talk(text, "vi") is None
