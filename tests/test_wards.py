"""The ward data (34 provinces, 3,321 wards) and the search a citizen's typing goes through."""

from __future__ import annotations

import json
import time

import pytest

from services.knowledge import wards
from services.knowledge.wards import (
    Province,
    Ward,
    find_provinces,
    get_province,
    get_ward,
    nearest_wards,
    nearest_wards_with_distance,
    provinces,
    search_wards,
)


def pairs(found: list[Ward]) -> list[tuple[str, str]]:
    """(province code, ward code) of each result, in order."""
    return [(w.province_code, w.code) for w in found]


SAI_GON = ("79", "26740")
BEN_THANH = ("79", "26743")
HA_DONG_HN = ("01", "09556")
HA_DONG_HP = ("31", "10882")
BA_DINH = ("01", "00004")
HOAN_KIEM = ("01", "00070")


# --- data -------------------------------------------------------------------------------------


def test_counts_and_unique_pairs() -> None:
    assert len(provinces()) == 34
    assert len({p.code for p in provinces()}) == 34
    all_wards = wards.wards()
    assert len(all_wards) == 3321
    assert len({(w.province_code, w.code) for w in all_wards}) == 3321
    assert {w.kind for w in all_wards} == {"Phường", "Xã", "Đặc khu"}
    assert sum(len(wards.wards(p.code)) for p in provinces()) == 3321


def test_json_document_is_what_the_script_promises() -> None:
    doc = json.loads(wards.DATA_PATH.read_text("utf-8"))
    assert "MIT" in doc["_about"]
    assert len(doc["provinces"]) == 34 and len(doc["wards"]) == 3321
    assert doc["ward_fields"] == [
        "province_code",
        "ward_code",
        "name",
        "short",
        "type",
        "lat",
        "lon",
    ]


def test_short_names_repeat_across_provinces_so_wards_are_keyed_by_the_pair() -> None:
    short = [w.short_name for w in wards.wards()]
    assert len(short) - len(set(short)) > 200
    assert get_ward(*HA_DONG_HN) != get_ward(*HA_DONG_HP)


def test_lookups_and_labels() -> None:
    ward = get_ward(*SAI_GON)
    assert ward is not None
    assert ward == Ward("79", "26740", "Phường Sài Gòn", "Sài Gòn", "Phường", ward.lat, ward.lon)
    assert ward.label == "Phường Sài Gòn, TP. Hồ Chí Minh"
    assert get_ward("75", "26740") is None
    assert get_ward("79", "nope") is None
    hcm = get_province("79")
    assert hcm is not None
    assert hcm == Province("79", "Thành phố Hồ Chí Minh", "Hồ Chí Minh")
    assert hcm.label == "TP. Hồ Chí Minh"
    assert get_province("99") is None
    lam_dong = get_province("68")
    assert lam_dong is not None and lam_dong.label == "Lâm Đồng"
    assert [p.code for p in provinces()] == sorted(p.code for p in provinces())


def test_objects_are_frozen() -> None:
    ward = get_ward(*SAI_GON)
    assert ward is not None
    with pytest.raises(AttributeError):
        ward.name = "x"  # type: ignore[misc]


# --- search_wards -----------------------------------------------------------------------------


# What people type and the ward that must come first (tests/test_old_addresses.py checks that an
# old-address reading never changes these).
FIRST_RESULTS = [
    ("phuong sai gon", SAI_GON),
    ("Phường Sài Gòn", SAI_GON),
    ("PHUONG SAI GON", SAI_GON),
    ("p. sai gon tp.hcm", SAI_GON),
    ("sai gon, hcm", SAI_GON),
    ("sai gon", SAI_GON),
    ("phuongsaigon", SAI_GON),
    ("Phường Sài Gòn, Thành phố Hồ Chí Minh, Việt Nam", SAI_GON),
    ("ha dong hn", HA_DONG_HN),
    ("hn ha dong", HA_DONG_HN),
    ("Hà Đông, Hà Nội", HA_DONG_HN),
    ("Xã Hà Đông Hải Phòng", HA_DONG_HP),
    ("xa ha dong", HA_DONG_HP),
    ("ben thanh", BEN_THANH),
    ("p ben thanh tphcm", BEN_THANH),
    ("phường ba đình", BA_DINH),
    ("hoan kiem ha noi", HOAN_KIEM),
    ("thu dau mot binh duong", ("79", "25747")),  # a former province name still works
    ("duc hue", ("80", "27925")),  # a commune, not the city of Huế
    ("Hà Giang 1", ("08", "00694")),  # a ward named like a former province
    ("son tinh quang ngai", ("51", "21220")),  # "tinh" belongs to the ward here
    ("yen bai lao cai", ("15", "04252")),
    ("phuong liet", ("01", "00352")),  # "phương" as part of the name, not the type
    ("Ha Dong ward, Hanoi", HA_DONG_HN),  # English puts the type after the name
    ("Tan Dinh ward, HCMC", ("79", "26737")),
]


@pytest.mark.parametrize(("query", "first"), FIRST_RESULTS)
def test_search_first_result(query: str, first: tuple[str, str]) -> None:
    assert pairs(search_wards(query))[:1] == [first]


def test_same_name_in_two_provinces_gives_both_candidates() -> None:
    assert pairs(search_wards("Hà Đông")) == [HA_DONG_HN, HA_DONG_HP]
    assert pairs(search_wards("Ha Dong"))[:2] == [HA_DONG_HN, HA_DONG_HP]


def test_province_in_the_query_restricts_to_it() -> None:
    assert pairs(search_wards("ha dong hn")) == [HA_DONG_HN]
    assert pairs(search_wards("Xã Hà Đông Hải Phòng")) == [HA_DONG_HP]
    assert {w.province_code for w in search_wards("thanh hcm")} == {"79"}


def test_type_word_prefers_that_type() -> None:
    assert pairs(search_wards("Phường Hà Đông"))[:2] == [HA_DONG_HN, HA_DONG_HP]
    assert pairs(search_wards("x. Hà Đông"))[:2] == [HA_DONG_HP, HA_DONG_HN]


def test_diacritics_pick_between_names_that_fold_alike() -> None:
    assert search_wards("Văn Lăng")[0].short_name == "Văn Lăng"
    assert search_wards("Văn Lang")[0].short_name == "Văn Lang"
    assert search_wards("Thạnh An, Hồ Chí Minh")[0].short_name == "Thạnh An"
    assert search_wards("Thanh An, Hồ Chí Minh")[0].short_name == "Thanh An"


def test_prefix_and_typos() -> None:
    assert search_wards("hoan ki")[0].code == HOAN_KIEM[1]
    assert pairs(search_wards("hadogn"))[:2] == [HA_DONG_HN, HA_DONG_HP]
    assert pairs(search_wards("hadogn hn")) == [HA_DONG_HN]
    assert search_wards("Hoàn Kím, Hà Nội")[0].code == HOAN_KIEM[1]


def test_explicit_province_code() -> None:
    assert pairs(search_wards("Hà Đông", province_code="31")) == [HA_DONG_HP]
    assert pairs(search_wards("ha giang 1", province_code="08"))[:1] == [("08", "00694")]
    assert search_wards("Hà Đông", province_code="99") == []
    assert {w.province_code for w in search_wards("Hà Đông", province_code="79")} <= {"79"}


def test_every_ward_is_found_by_its_label_and_by_name_and_province() -> None:
    for ward in wards.wards():
        assert search_wards(f"{ward.name}, {ward.province.name}")[:1] == [ward], ward
        assert search_wards(ward.short_name, province_code=ward.province_code)[:1] == [ward]


def test_limit_and_deterministic_order() -> None:
    first = search_wards("thanh", limit=8)
    assert len(first) == 8
    assert search_wards("thanh", limit=8) == first
    assert search_wards("thanh", limit=3) == first[:3]
    assert search_wards("thanh", limit=0) == []


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "🩸🩸🩸",
        "a" * 500,
        "🙂 " * 300,
        "?!.,;",
        "xyzzy qwerty",
        "phường",
        "p.",
        "hcm",
        "Thành phố Hồ Chí Minh",
        "tp hcm",
        "\x00\n\t",
        "ｆｕｌｌｗｉｄｔｈ",
        "١٢٣",
    ],
)
def test_garbage_or_province_only_gives_nothing(query: str) -> None:
    assert search_wards(query) == []


def test_non_text_does_not_raise() -> None:
    assert search_wards(None) == []  # type: ignore[arg-type]
    assert search_wards(123) == []  # type: ignore[arg-type]
    assert find_provinces(None) == []  # type: ignore[arg-type]


def test_search_is_fast() -> None:
    search_wards("warm up")
    queries = ["hadogn", "phuong sai gon", "p. sai gon tp.hcm", "xyzzy qwerty", "a" * 500]
    for query in queries:
        start = time.perf_counter()
        search_wards(query)
        assert time.perf_counter() - start < 0.02, query


# --- find_provinces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("hn", "01"),
        ("ha noi", "01"),
        ("hanoi", "01"),
        ("Hà Nội", "01"),
        ("tp. Hà Nội", "01"),
        ("hcm", "79"),
        ("tphcm", "79"),
        ("tp hcm", "79"),
        ("TP.HCM", "79"),
        ("sg", "79"),
        ("sai gon", "79"),
        ("saigon", "79"),
        ("ho chi minh", "79"),
        ("binh duong", "79"),
        ("hp", "31"),
        ("ct", "92"),
        ("hue", "46"),
        ("qt", "44"),
        ("Tỉnh Gia Lai", "52"),
        ("dak lak", "66"),
        ("ha noii", "01"),
        ("Khánh Hoà", "56"),
    ],
)
def test_find_provinces(query: str, code: str) -> None:
    assert [p.code for p in find_provinces(query)][:1] == [code]


def test_find_provinces_prefix_and_garbage() -> None:
    assert {"01", "42"} <= {p.code for p in find_provinces("ha")}
    assert len(find_provinces("ha", limit=2)) == 2
    assert find_provinces("") == []
    assert find_provinces("🩸") == []
    assert find_provinces("x" * 500) == []


# --- nearest_wards ----------------------------------------------------------------------------


def test_nearest_in_ha_noi() -> None:
    found = nearest_wards_with_distance(21.0285, 105.8542)
    assert found[0][0].code == HOAN_KIEM[1]
    assert found[0][1] < 2
    assert [d for _, d in found] == sorted(d for _, d in found)
    assert all(w.province_code == "01" for w, _ in found)
    assert nearest_wards(21.0285, 105.8542) == [w for w, _ in found]


def test_nearest_in_ho_chi_minh_city() -> None:
    found = nearest_wards(10.7769, 106.7009, limit=3)
    assert len(found) == 3
    assert pairs(found)[0] == SAI_GON
    assert BEN_THANH in pairs(found)


def test_nearest_on_an_island() -> None:
    assert pairs(nearest_wards(10.227, 103.967, limit=1)) == [("91", get_ward_code("Phú Quốc"))]


def get_ward_code(short_name: str) -> str:
    """The code of the only ward with this short name."""
    (ward,) = [w for w in wards.wards() if w.short_name == short_name]
    return ward.code


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (48.8566, 2.3522),  # Paris
        (11.5564, 104.9282),  # Phnom Penh
        (17.9757, 102.6331),  # Vientiane
        (22.8170, 108.3669),  # Nanning
        (13.7563, 100.5018),  # Bangkok
        (0.0, 0.0),
        (float("nan"), 105.0),
        (21.0, float("inf")),
        (95.0, 105.0),
    ],
)
def test_nearest_outside_vietnam_gives_nothing(lat: float, lon: float) -> None:
    assert nearest_wards(lat, lon) == []
    assert nearest_wards_with_distance(lat, lon) == []


def test_nearest_limit() -> None:
    assert nearest_wards(21.0285, 105.8542, limit=0) == []
    assert len(nearest_wards(21.0285, 105.8542, limit=12)) == 12
