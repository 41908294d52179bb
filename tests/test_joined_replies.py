"""Replies in as few messages as they fit: each message costs one of the bot's sends a second."""

from __future__ import annotations

from services.conversation.dialog import Button, Document, Keyboard, Reply, Venue, joined

QUESTION = Reply("Which ward?", [[Button("Hà Đông", "ward:01:09556")]])


def test_plain_text_goes_on_top_of_the_question_that_follows() -> None:
    [one] = joined([Reply("Saved: 0912 345 678"), QUESTION], 4096)
    assert one.text == "Saved: 0912 345 678\n\nWhich ward?"
    assert one.buttons == QUESTION.buttons


def test_several_lines_before_a_file_become_its_words() -> None:
    ics = Document("drive.ics", b"BEGIN:VCALENDAR")
    [one] = joined([Reply("A"), Reply("B"), Reply("Signed up", document=ics)], 4096)
    assert one.text == "A\n\nB\n\nSigned up" and one.document == ics


def test_what_cannot_share_a_message_stays_apart() -> None:
    pin = Reply("The venue", venue=Venue(21.0, 105.8, "Nhà văn hoá", "2 Quang Trung"))
    assert len(joined([Reply("First"), pin], 4096)) == 2  # the pin comes before its text
    asked = Reply("Your phone?", keyboard=Keyboard.CONTACT, keyboard_label="Share")
    assert len(joined([asked, QUESTION], 4096)) == 2  # a question keeps its own keyboard
    removal = Reply("Thanks", keyboard=Keyboard.REMOVE)
    assert len(joined([removal, QUESTION], 4096)) == 2  # one message has one keyboard
    [both] = joined([removal, Reply("Next question")], 4096)
    assert both.keyboard is Keyboard.REMOVE and both.text == "Thanks\n\nNext question"
    assert len(joined([Reply("x" * 3000), Reply("y" * 1500)], 4096)) == 2  # too long together


def test_a_refusal_is_still_noted_after_joining() -> None:
    [one] = joined([Reply("Not for your role", refused="create_drive"), QUESTION], 4096)
    assert one.refused == "create_drive"


def test_buttons_end_a_message_and_the_last_plain_text_stays() -> None:
    out = joined([QUESTION, Reply("Tip"), Reply("End")], 4096)
    assert [r.text for r in out] == ["Which ward?", "Tip\n\nEnd"]
    assert joined([], 4096) == []
