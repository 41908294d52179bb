"""Addresses in the units before 1 July 2025: old ward → today's ward(s), districts that are gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from models.database import Database
from services.core.i18n import use_locale
from services.donors.questions import Answer, answer_ward_text
from services.knowledge import old_addresses
from services.knowledge.old_addresses import WardLookup, look_up_ward, read_old_address
from services.knowledge.wards import get_ward, search_wards
from tests.support.people import Person, buttons, register, texts
from tests.test_wards import FIRST_RESULTS

ROOT = Path(__file__).resolve().parent.parent

SAI_GON = ("79", "26740")
TAN_DINH = ("79", "26737")
BEN_THANH = ("79", "26743")
CAU_ONG_LANH = ("79", "26758")
BAN_CO = ("79", "27154")
XUAN_HOA = ("79", "27139")
NHIEU_LOC = ("79", "27142")
HA_DONG_HN = ("01", "09556")
HA_DONG_HP = ("31", "10882")
THANH_LIET = ("01", "00643")
QUAN_1 = "thanhphohochiminh_quan1"
QUAN_3 = "thanhphohochiminh_quan3"


def pairs(found: WardLookup) -> list[tuple[str, str]]:
    return [(w.province_code, w.code) for w in found.wards]


def said(found: WardLookup) -> str:
    return "\n".join(found.notes)


# --- the inputs people typed (issue 7, item 12) -----------------------------------------------


def test_old_ward_with_its_district_is_converted() -> None:
    with use_locale("vi"):
        found = look_up_ward("phường Bến Nghé, quận 1")
        assert pairs(found) == [SAI_GON]
        assert "Phường Bến Nghé (Quận 1) nay thuộc Phường Sài Gòn, TP. Hồ Chí Minh." in said(found)
    with use_locale("en"):
        found = look_up_ward("phường Bến Nghé, quận 1")
        assert "Phường Bến Nghé (Quận 1) is now part of Phường Sài Gòn, TP. Hồ Chí Minh." in said(
            found
        )


def test_numbered_ward_without_accents_or_commas() -> None:
    found = look_up_ward("phuong 1 quan 3")
    assert pairs(found) == [BAN_CO]  # not the wards of Thái Nguyên (19) and Huế (46) it got before
    with use_locale("vi"):
        assert "Phường 1 (Quận 3) nay thuộc Phường Bàn Cờ, TP. Hồ Chí Minh." in said(
            look_up_ward("phuong 1 quan 3")
        )


def test_old_ward_split_between_new_wards_offers_each() -> None:
    found = look_up_ward("Văn Quán, Hà Đông, Hà Nội")
    assert pairs(found) == [HA_DONG_HN, THANH_LIET]
    with use_locale("en"):
        text = said(look_up_ward("Văn Quán, Hà Đông, Hà Nội"))
    assert "Phường Văn Quán (Quận Hà Đông) was divided between" in text
    assert "Phường Hà Đông, Phường Thanh Liệt (TP. Hà Nội)" in text


def test_another_split_ward() -> None:
    found = look_up_ward("Phường Đa Kao, Quận 1")
    assert pairs(found) == [SAI_GON, TAN_DINH]
    with use_locale("vi"):
        text = said(look_up_ward("Phường Đa Kao, Quận 1"))
    assert "Phường Đa Kao (Quận 1) nay được chia cho Phường Sài Gòn, Phường Tân Định" in text


def test_english_ward_word_after_the_name() -> None:
    found = look_up_ward("Ha Dong ward, Hanoi")
    assert pairs(found)[:1] == [HA_DONG_HN]
    assert [(w.province_code, w.code) for w in search_wards("Ha Dong ward, Hanoi")][:1] == [
        HA_DONG_HN
    ]


@pytest.mark.parametrize("query", ["quận 1", "Quận 1", "quan 1", "q1", "Q.1", "district 1"])
def test_a_district_alone_is_gone_and_its_new_wards_are_offered(query: str) -> None:
    found = look_up_ward(query)
    assert set(pairs(found)) == {SAI_GON, TAN_DINH, BEN_THANH, CAU_ONG_LANH}
    assert found.district == QUAN_1
    with use_locale("vi"):
        text = said(look_up_ward(query))
    assert "Quận 1 (TP. Hồ Chí Minh) không còn nữa" in text
    assert "không còn cấp quận, huyện, thị xã" in text
    with use_locale("en"):
        assert "no longer exists" in said(look_up_ward(query))


def test_the_next_answer_is_read_inside_the_remembered_district() -> None:
    assert set(pairs(look_up_ward("quan 3"))) == {BAN_CO, XUAN_HOA, NHIEU_LOC}
    alone = look_up_ward("phường 1")  # dozens of former "Phường 1"
    assert alone.wards == () and "phường 1, quận 3" in said(alone)
    assert pairs(look_up_ward("phường 1", district=QUAN_3)) == [BAN_CO]
    # Today's names still win inside a remembered district.
    assert pairs(look_up_ward("phuong sai gon", district=QUAN_3)) == [SAI_GON]


def test_a_district_of_many_provinces_asks_for_the_province() -> None:
    with use_locale("en"):
        found = look_up_ward("huyện Châu Thành")
    assert found.wards == () and found.district is None
    assert "several places called Huyện Châu Thành" in said(found)
    assert "Tiền Giang" in said(found)


def test_a_big_district_asks_for_the_ward_by_name() -> None:
    with use_locale("en"):
        found = look_up_ward("Thành phố Thủ Đức")
    assert found.wards == ()
    assert "Thành phố Thủ Đức (TP. Hồ Chí Minh) no longer exists" in said(found)
    assert found.district == "thanhphohochiminh_thanhphothuduc"


def test_an_island_district_is_now_a_special_zone() -> None:
    found = look_up_ward("huyện Côn Đảo")
    assert [w.name for w in found.wards] == ["Đặc khu Côn Đảo"]


# --- today's names first ----------------------------------------------------------------------


def test_exact_new_names_still_win() -> None:
    assert look_up_ward("phuong sai gon") == WardLookup((get_ward(*SAI_GON),))  # type: ignore[arg-type]
    assert pairs(look_up_ward("ben thanh"))[:1] == [BEN_THANH]  # also a former ward of Quận 1
    assert look_up_ward("ben thanh").notes == ()
    assert pairs(look_up_ward("Hà Đông"))[:2] == [HA_DONG_HN, HA_DONG_HP]
    # Today's Phường Hà Đông first; the former district Hà Đông is explained, not chosen.
    found = look_up_ward("Hà Đông, Hà Nội")
    assert pairs(found)[:1] == [HA_DONG_HN]
    with use_locale("en"):
        assert "If you meant the former Quận Hà Đông (TP. Hà Nội)" in said(
            look_up_ward("Hà Đông, Hà Nội")
        )


@pytest.mark.parametrize(("query", "first"), FIRST_RESULTS)
def test_every_search_case_of_today_keeps_its_first_result(
    query: str, first: tuple[str, str]
) -> None:
    assert pairs(look_up_ward(query))[:1] == [first]


@pytest.mark.parametrize(
    "query", ["", "   ", "xyzzy qwerty", "🩸🩸🩸", "a" * 500, "hien mau", "phường", "\x00"]
)
def test_garbage_gives_nothing(query: str) -> None:
    assert look_up_ward(query) == WardLookup()
    assert read_old_address(query) == old_addresses.OldReading()


def test_non_text_does_not_raise() -> None:
    assert read_old_address(None) == old_addresses.OldReading()  # type: ignore[arg-type]


def test_a_province_alone_is_not_a_district() -> None:
    assert read_old_address("tp hue").districts == ()
    assert read_old_address("Vũng Tàu").districts == ()


# --- the data ---------------------------------------------------------------------------------


def test_index_holds_every_old_unit() -> None:
    index = old_addresses._index()
    assert len(index.wards) == 10035  # + 5 island districts without wards: 10,040 rows
    assert len(index.districts) == 696
    assert sum(w.split for w in index.wards) == 471
    assert all(w.new_wards for w in index.wards)
    assert all(d.new_wards for d in index.districts)


def test_every_old_ward_is_found_by_name_district_and_province() -> None:
    for ward in old_addresses._index().wards:
        district = ward.district
        query = f"{ward.name}, {district.name}, {district.province_label}"
        reading = read_old_address(query)
        assert ward in reading.wards and reading.with_district, query


def test_names_that_fold_alike_are_told_apart_by_their_accents() -> None:
    assert [w.name for w in read_old_address("Xã Minh Quân, Huyện Trấn Yên").wards] == [
        "Xã Minh Quân"
    ]
    assert [w.name for w in read_old_address("Xã Minh Quán, Huyện Trấn Yên").wards] == [
        "Xã Minh Quán"
    ]
    both = read_old_address("xa minh quan huyen tran yen").wards
    assert {w.name for w in both} == {"Xã Minh Quân", "Xã Minh Quán"}


def test_the_package_itself_is_not_imported() -> None:
    # Its import takes seconds (shapely, geopy) and its converter geocodes over the network.
    code = (
        "import sys; from services.knowledge.old_addresses import look_up_ward; "
        "assert look_up_ward('quận 1').wards; "
        "assert not {'vietnamadminunits', 'shapely', 'geopy'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_without_the_package_data_todays_names_still_work(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(old_addresses, "_loaded", None)
    monkeypatch.setattr(old_addresses, "package_data_dir", lambda: tmp_path)
    assert pairs(look_up_ward("phuong sai gon")) == [SAI_GON]
    assert look_up_ward("phường Bến Nghé, quận 1").notes == ()


def test_preload_builds_once_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(old_addresses, "_loaded", None)
    old_addresses.preload()
    old_addresses.preload()  # a second call while building starts nothing more
    assert old_addresses._preloading is not None
    old_addresses._preloading.join()
    assert old_addresses._loaded is not None and old_addresses._loaded.wards


# --- the ward step of the registration --------------------------------------------------------


def ward_answer(text: str, data: dict[str, Any] | None = None, locale: str = "vi") -> Answer:
    """The ward step's answer to a typed text, as the registration flow gets it."""
    data = data or {}
    with use_locale(locale):
        return answer_ward_text(text, data.get("province"), data.get("old_district"))


def reply_buttons(answer: Answer) -> list[str]:
    return [b.data for r in answer.replies for row in r.buttons for b in row]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("phường Bến Nghé, quận 1", [SAI_GON]),
        ("phuong 1 quan 3", [BAN_CO]),
        ("Văn Quán, Hà Đông, Hà Nội", [HA_DONG_HN, THANH_LIET]),
        ("Ha Dong ward, Hanoi", [HA_DONG_HN]),
        ("Phường Đa Kao, Quận 1", [SAI_GON, TAN_DINH]),
    ],
)
def test_registration_offers_the_new_wards_of_an_old_address(
    text: str, expected: list[tuple[str, str]]
) -> None:
    answer = ward_answer(text)
    assert answer.error is None and answer.fields is None
    offered = reply_buttons(answer)
    assert offered[: len(expected)] == [f"ward:{p}:{c}" for p, c in expected]
    assert offered[-1] == "ward:none"


def test_registration_says_what_the_old_ward_became_before_asking() -> None:
    answer = ward_answer("phường Bến Nghé, quận 1")
    (reply,) = answer.replies
    assert reply.text.startswith(
        "Phường Bến Nghé (Quận 1) nay thuộc Phường Sài Gòn, TP. Hồ Chí Minh."
    )
    assert reply.text.endswith("Phường/xã của bạn là nơi nào?")


def test_registration_district_alone_asks_for_the_ward_and_remembers_it() -> None:
    answer = ward_answer("quận 1", locale="en")
    assert "Quận 1 (TP. Hồ Chí Minh) no longer exists" in answer.replies[0].text
    assert set(reply_buttons(answer)) >= {"ward:79:26740", "ward:79:26737"}
    assert answer.data == {"old_district": QUAN_1}
    then = ward_answer("phường 1", {"old_district": QUAN_3})
    assert reply_buttons(then)[:1] == ["ward:79:27154"]


# --- through the chat -------------------------------------------------------------------------


async def test_a_person_registers_with_an_old_address(service, db: Database) -> None:  # noqa: F811
    person = Person(service, 7001, "vi")
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.tap("sex:male")
    await person.say("0912 345 678")
    out = await person.say("quan 3")
    assert "Quận 3 (TP. Hồ Chí Minh) không còn nữa" in texts(out)
    out = await person.say("phuong 1")  # read inside the former Quận 3
    assert "Phường 1 (Quận 3) nay thuộc Phường Bàn Cờ, TP. Hồ Chí Minh." in texts(out)
    assert buttons(out)[0] == "ward:79:27154"
    out = await person.tap("ward:79:27154")
    assert "Phường Bàn Cờ, TP. Hồ Chí Minh" in texts(out)


async def test_following_a_ward_typed_the_old_way(service, db: Database) -> None:  # noqa: F811
    person = Person(service, 7002, "en")
    await register(person, "en")
    await service.command(person.sender(), "wards", [])
    await person.tap("follow:add")
    out = await person.say("Văn Quán, Hà Đông, Hà Nội")
    assert "Phường Văn Quán (Quận Hà Đông) was divided between" in texts(out)
    assert buttons(out) == ["fw:01:09556", "fw:01:00643"]
    out = await person.say("quận 1")
    assert "no longer exists" in texts(out)
    assert "fw:79:26743" in buttons(out)
    out = await person.tap("fw:01:00643")
    assert "You now follow Phường Thanh Liệt, TP. Hà Nội." in texts(out)


def test_inside_a_province() -> None:
    # A leader's drive: only wards of their province, even for an old address.
    assert pairs(look_up_ward("phường Bến Nghé, quận 1", "79", anywhere=False)) == [SAI_GON]
    assert look_up_ward("phường Bến Nghé, quận 1", "01", anywhere=False) == WardLookup()
    assert look_up_ward("quận 1", "01", anywhere=False).wards == ()
    # A citizen who named a province first still finds an address elsewhere.
    assert pairs(look_up_ward("phường Bến Nghé, quận 1", "01")) == [SAI_GON]
