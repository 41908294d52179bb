"""Numbered choices, typed answers, plain-word commands and splitting (issue 12), channel-neutral:
services/conversation/numbered.py."""

from __future__ import annotations

import json

import pytest

from services.chat import COMMANDS
from services.conversation.dialog import Button, Reply
from services.conversation.numbered import (
    PLAIN_COMMANDS,
    CommandWords,
    Numbering,
    Offered,
    Picked,
    choose_hint,
    interpret,
    numbered,
    plain_command,
    split_text,
)
from services.core.i18n import use_locale
from services.core.text import utf16_length
from services.donors.consent import ChooseLanguage

CONSENT = Reply(
    "Bạn có đồng ý không?",
    [
        [Button("✅ Tôi đồng ý", "consent:vi:yes")],
        [Button("Tôi không đồng ý", "consent:vi:no")],
    ],
)
BLOOD = Reply(
    "Nhóm máu của bạn?",
    [[Button(g, f"bg:{g}") for g in ("A+", "A-", "B+", "B-")], [Button("Chưa biết", "bg:x")]],
)


def test_buttons_become_numbered_lines_and_a_hint_in_the_readers_language() -> None:
    with use_locale("vi"):
        text, offered = numbered(CONSENT)
    assert (
        text == "Bạn có đồng ý không?\n\n1. ✅ Tôi đồng ý\n2. Tôi không đồng ý\nTrả lời 1 hoặc 2."
    )
    assert [(c.number, c.data) for c in offered.choices] == [
        (1, "consent:vi:yes"),
        (2, "consent:vi:no"),
    ]
    with use_locale("en"):
        assert numbered(CONSENT)[0].endswith("Reply 1 or 2.")


@pytest.mark.parametrize(
    ("numbers", "vi", "en"),
    [
        ([1], "Trả lời 1 để chọn.", "Reply 1 to choose it."),
        ([1, 2, 3], "Trả lời 1, 2 hoặc 3.", "Reply 1, 2 or 3."),
        ([3, 4, 5, 6], "Trả lời 3, 4, 5 hoặc 6.", "Reply 3, 4, 5 or 6."),
        ([1, 2, 3, 4, 5], "Trả lời một số từ 1 đến 5.", "Reply a number from 1 to 5."),
    ],
)
def test_the_hint_lists_a_few_numbers_or_names_the_range(
    numbers: list[int], vi: str, en: str
) -> None:
    with use_locale("vi"):
        assert choose_hint(numbers) == vi
    with use_locale("en"):
        assert choose_hint(numbers) == en


def test_a_reply_without_buttons_is_its_text_alone() -> None:
    text, offered = numbered(Reply("Cảm ơn bạn!"))
    assert text == "Cảm ơn bạn!" and not offered


def test_numbers_run_on_across_the_replies_of_one_answer() -> None:
    """Two drive cards, each with "Đăng ký": 1 and 2, never both 1."""
    card = Reply("Điểm hiến máu", [[Button("✍️ Đăng ký", "signup:1")]])
    other = Reply("Điểm khác", [[Button("✍️ Đăng ký", "signup:2")]])
    numbering = Numbering()
    with use_locale("vi"):
        first, second = numbering.render(card), numbering.render(other)
    assert "1. ✍️ Đăng ký" in first and "2. ✍️ Đăng ký" in second
    offered = numbering.offered
    assert offered.match("2") == "signup:2"
    assert offered.match("đăng ký") is None  # both say it: ask by number


def test_the_offered_numbers_survive_json_as_the_state_stores_them() -> None:
    _, offered = numbered(BLOOD)
    stored = json.loads(json.dumps({"offered": offered.to_json()}))
    again = Offered.from_json(stored["offered"])
    assert again == offered and again.match("3") == "bg:B+"


@pytest.mark.parametrize(
    "stored", [None, "1", [[1, "a"]], [["1", "a", "b"]], [[1, "a", "b"], "x"], {"1": "a"}]
)
def test_a_malformed_stored_offer_reads_as_nothing_offered(stored: object) -> None:
    assert Offered.from_json(stored) == Offered()


@pytest.mark.parametrize("typed", ["2", "2.", " 2 ", "2)", "số 2", "So 2", "#2", "\t2\n"])
def test_a_choice_is_picked_by_its_number(typed: str) -> None:
    assert numbered(CONSENT)[1].match(typed) == "consent:vi:no"


@pytest.mark.parametrize("typed", ["3", "0", "22", "-1", "2 ngày", "1, 2"])
def test_a_number_not_offered_or_more_than_a_number_picks_nothing(typed: str) -> None:
    assert numbered(CONSENT)[1].match(typed) is None


@pytest.mark.parametrize(
    ("typed", "data"),
    [
        ("Tôi đồng ý", "consent:vi:yes"),
        ("toi dong y", "consent:vi:yes"),
        ("TÔI ĐỒNG Ý!", "consent:vi:yes"),
        ("tôi không đồng ý", "consent:vi:no"),
        ("TOI KHONG DONG Y", "consent:vi:no"),
    ],
)
def test_a_choice_is_picked_by_its_words_with_or_without_diacritics(typed: str, data: str) -> None:
    assert numbered(CONSENT)[1].match(typed) == data


def test_words_in_decomposed_unicode_match_too() -> None:
    """Unikey's "tổ hợp" input sends the marks as separate characters (NFD)."""
    import unicodedata

    assert numbered(CONSENT)[1].match(unicodedata.normalize("NFD", "Tôi đồng ý")) == (
        "consent:vi:yes"
    )


def test_plus_and_minus_stay_apart() -> None:
    offered = numbered(BLOOD)[1]
    assert offered.match("A+") == "bg:A+" and offered.match("a-") == "bg:A-"
    assert offered.match("b +") == "bg:B+"
    assert offered.match("chua biet") == "bg:x"


def test_part_of_one_labels_words_picks_it_unless_another_has_them_or_it_is_off() -> None:
    offered = numbered(CONSENT)[1]
    assert offered.match("không đồng ý") == "consent:vi:no"  # only one label holds them
    assert offered.match("đồng ý") is None  # both labels hold "dong y"
    assert offered.match("không đồng ý", partial=False) is None  # where free text is an answer
    assert offered.match("kh") is None  # too short to stand for a label


def test_the_same_label_twice_with_different_data_is_ambiguous() -> None:
    reply = Reply("?", [[Button("OK", "a:1"), Button("OK", "a:2")]])
    assert numbered(reply)[1].match("ok") is None
    assert numbered(reply)[1].match("1") == "a:1"


def test_the_language_question_of_the_bot_is_answered_by_words() -> None:
    reply = Reply(
        "Chọn ngôn ngữ / Choose a language",
        [[ChooseLanguage("vi").button("🇻🇳 Tiếng Việt"), ChooseLanguage("en").button("🇬🇧 English")]],
    )
    offered = numbered(reply)[1]
    assert offered.match("tieng viet") == ChooseLanguage("vi").encode()
    assert offered.match("English") == ChooseLanguage("en").encode()


# ---------------------------------------------------------------- commands


@pytest.mark.parametrize(
    ("typed", "name", "args"),
    [
        ("/start", "start", ()),
        ("/start drive_12", "start", ("drive_12",)),
        ("/Help", "help", ()),
        ("/stats@hienmau_bot 2026", "stats", ("2026",)),
        ("/whatever", "whatever", ()),  # the router reads a command it lacks as text
        ("dừng", "stop", ()),
        ("Dừng lại!", "stop", ()),
        ("  STOP  ", "stop", ()),
        ("hủy", "cancel", ()),
        ("huỷ", "cancel", ()),
        ("trợ giúp", "help", ()),
        ("tro giup", "help", ()),
        ("Trợ  giúp?", "help", ()),
        ("bắt đầu", "start", ()),
        ("bat dau", "start", ()),
        ("quay lại", "back", ()),
    ],
)
def test_commands_are_typed_as_slash_words_or_plain_words(
    typed: str, name: str, args: tuple[str, ...]
) -> None:
    assert plain_command(typed) == CommandWords(name, args)


@pytest.mark.parametrize(
    "typed",
    ["dung", "Dũng", "đúng", "huy", "Huy", "dừng xe ở đâu", "/", "/ start", "/đi", "", "   "],
)
def test_words_that_only_look_like_commands_are_not_commands(typed: str) -> None:
    """ "dung" is also "đúng" (yes) and the name Dũng; "huy" the name Huy."""
    assert plain_command(typed) is None


def test_every_plain_word_names_a_command_the_bot_has() -> None:
    assert set(PLAIN_COMMANDS.values()) <= set(COMMANDS.names())


def test_interpret_puts_slash_commands_then_what_was_offered_then_plain_words() -> None:
    offered = numbered(
        Reply("?", [[Button("Hủy đăng ký của tôi", "cs:4")], [Button("Dừng", "x")]])
    )[1]
    assert interpret("/start", offered) == CommandWords("start")
    assert interpret("1", offered) == Picked("cs:4")
    assert interpret("dừng", offered) == Picked("x")  # the label they see wins over the command
    assert interpret("hủy", offered) == CommandWords("cancel")  # a command before part of a label
    assert interpret("huy dang ky", offered) == Picked("cs:4")  # part of one label
    assert interpret("huy dang ky", offered, partial=False) is None
    assert interpret("Nguyễn Văn Huy", offered) is None  # free text stays text
    assert interpret("trợ giúp", Offered()) == CommandWords("help")


# ---------------------------------------------------------------- splitting


def test_a_short_text_is_one_part() -> None:
    assert split_text("  Xin chào\n") == ["Xin chào"]
    assert split_text("") == [] and split_text(" \n\n ") == []


def test_a_long_text_is_cut_at_paragraphs_first() -> None:
    paragraphs = [f"Đoạn {i}: " + "máu " * 100 for i in range(12)]  # 408 characters each
    parts = split_text("\n\n".join(paragraphs), 2000)
    assert all(utf16_length(p) <= 2000 for p in parts)
    assert [p.count("Đoạn") for p in parts] == [4, 4, 4]  # five would be 2,048 characters
    assert all(p.startswith("Đoạn") for p in parts)  # each part starts a paragraph
    assert " ".join(parts).split() == " ".join(paragraphs).split()  # nothing lost or added


def test_a_long_paragraph_is_cut_at_lines_then_a_long_line_at_words() -> None:
    lines = "\n".join(f"{i}. " + "hiến máu " * 20 for i in range(40))  # one paragraph
    parts = split_text(lines, 500)
    assert all(utf16_length(p) <= 500 for p in parts)
    assert all(p.split("\n")[0].split(".")[0].isdigit() for p in parts)  # cut between lines
    words = "tình nguyện " * 300  # one line of 3,600 characters
    parts = split_text(words, 1000)
    assert all(utf16_length(p) <= 1000 for p in parts) and len(parts) == 4
    assert " ".join(parts).split() == words.split()  # whole words: none was cut inside


def test_a_word_longer_than_a_part_is_cut_inside_but_never_inside_a_character() -> None:
    link = "https://maps.example.vn/" + "x" * 30 + "🩸" * 20
    parts = split_text(link, 25)
    assert "".join(parts) == link
    assert all(utf16_length(p) <= 25 for p in parts)
    assert all(not ("\ud800" <= p[-1] <= "\udfff") for p in parts)


def test_emoji_count_as_two_as_zalo_counts_them() -> None:
    text = "🩸" * 1000 + " " + "a"  # 2,002 units
    parts = split_text(text, 2000)
    assert parts == ["🩸" * 1000, "a"]


def test_the_numbered_choices_stay_with_their_hint_in_the_last_part() -> None:
    """The tail of a paragraph cut in two shares its part with what follows (fewer messages:
    the free plan counts them), and the choices' block is never cut."""
    reply = Reply("máu " * 600, [[Button("Có", "y")], [Button("Không", "n")]])
    with use_locale("vi"):
        parts = split_text(numbered(reply)[0], 2000)
    assert len(parts) == 2
    assert parts[1].startswith("máu") and parts[1].endswith(
        "\n\n1. Có\n2. Không\nTrả lời 1 hoặc 2."
    )


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)
