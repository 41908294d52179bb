"""The registries: commands declared once, buttons as typed data (the wire format of old buttons
kept), routed by kind."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from services.chat import BUTTONS, COMMANDS, ChatService
from services.conversation.buttons import MAX_BYTES, ButtonData, decode
from services.conversation.commands import Needs
from services.conversation.menus import MenuItem, OpenMenu, main_menu
from services.core.i18n import use_locale
from services.donors.consent import ChooseLanguage, ConsentAnswer, ForgetAnswer
from services.drives.buttons import ManageDrive, SignUp, Unfollow
from services.eligibility.texts import RemindMe
from services.outreach.urgent import CanCome


@dataclasses.dataclass(frozen=True)
class Sample(ButtonData, kind="test_sample"):
    """A kind declared only for these tests."""

    number: int
    day: date
    rest: str = ""


def test_buttons_already_in_chats_decode_as_before() -> None:
    assert decode("signup:12") == SignUp(12)
    assert decode("lang:vi") == ChooseLanguage("vi")
    assert decode("lang:vi:drive_7") == ChooseLanguage("vi", "drive_7")
    assert decode("consent:en:yes:drive_7") == ConsentAnswer("en", "yes", "drive_7")
    assert decode("unfollow:01:00004:yes") == Unfollow("01", "00004", "yes")
    assert decode("remind:2027-01-05:tattoo") == RemindMe(date(2027, 1, 5), "tattoo")
    assert decode("menu:drives") == OpenMenu(MenuItem.DRIVES)
    assert decode("md:field:3:venue") == ManageDrive("field", 3, "venue")
    assert decode("md:keep") == ManageDrive("keep")
    assert decode("come:41") == CanCome(41)
    assert decode("forget:ask") == ForgetAnswer("ask")


def test_encoding_is_the_old_wire_format() -> None:
    assert SignUp(12).encode() == "signup:12"
    assert ChooseLanguage("vi").encode() == "lang:vi"
    assert Unfollow("01", "00004").encode() == "unfollow:01:00004"
    assert RemindMe(date(2027, 1, 5), "tattoo").encode() == "remind:2027-01-05:tattoo"
    assert ManageDrive("keep").encode() == "md:keep"


@pytest.mark.parametrize(
    "forged",
    [
        "signup:",
        "signup:x",
        "signup:²",
        "signup:" + "9" * 30,
        "signup:1:2",
        "menu:nowhere",
        "remind:2027-13-40:x",
        "remind:tomorrow",
        "come:-1",
        "nosuchkind:1",
        "",
        "x" * 65,
    ],
)
def test_forged_or_truncated_data_decodes_to_nothing(forged: str) -> None:
    assert decode(forged) is None


def test_a_button_over_telegrams_64_bytes_is_refused_when_built() -> None:
    with pytest.raises(ValueError):
        Sample(1, date(2027, 1, 1), "ư" * 40).encode()
    assert len(Sample(1, date(2027, 1, 1), "a" * 30).encode().encode()) <= MAX_BYTES


def test_only_the_last_field_may_hold_a_colon() -> None:
    assert decode(Sample(1, date(2027, 1, 1), "a:b").encode()) == Sample(1, date(2027, 1, 1), "a:b")
    with pytest.raises(ValueError):
        Unfollow("0:1", "2").encode()


def test_a_kind_is_declared_once() -> None:
    with pytest.raises(TypeError):

        @dataclasses.dataclass(frozen=True)
        class Again(ButtonData, kind="signup"):
            drive_id: int


def test_every_routed_kind_has_its_router_method() -> None:
    for kind in BUTTONS.kinds():
        declared = ButtonData.kinds[kind]
        route = BUTTONS._routes[declared]
        assert callable(getattr(ChatService, route.handler_name)), kind


def test_the_main_menu_offers_only_routed_kinds() -> None:
    with use_locale("vi"):
        menu = main_menu("…")
    kinds = {type(decode(b.data)) for row in menu.buttons for b in row}
    assert kinds == {OpenMenu}
    assert {decode(b.data).item for row in menu.buttons for b in row} == set(MenuItem)  # type: ignore[union-attr]


def test_every_command_is_declared_once_with_its_answer() -> None:
    names = COMMANDS.names()
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert callable(getattr(ChatService, command.handler_name)), command.name
    # Citizens' commands are in the menu and in /help; leaders' and staff's are not.
    menu = {name for name, _text in COMMANDS.menu()}
    assert {"start", "eligibility", "drives", "wards", "profile", "help", "stop", "forget"} <= menu
    assert not {"newdrive", "broadcast", "grant"} & menu
    assert COMMANDS.get("grant") is not None and COMMANDS.get("grant").needs is Needs.NOTHING  # type: ignore[union-attr]


def test_the_menu_and_help_speak_both_languages() -> None:
    with use_locale("vi"):
        vi = dict(COMMANDS.menu())
        vi_help = COMMANDS.help_lines()
    with use_locale("en"):
        en = dict(COMMANDS.menu())
    assert vi["drives"] != en["drives"] and vi["start"] == "Đăng ký hoặc mở menu"
    assert "/drives – các đợt hiến máu sắp tới gần bạn" in vi_help
