"""Addresses written in the units before 1 July 2025 (63 provinces, 696 districts, 10,035 wards).

People still write "phường Bến Nghé, quận 1" or "Văn Quán, Hà Đông, Hà Nội". This module reads
such text and says which of today's wards took the place of the old one, using the old→new
mapping of the MIT-licensed `vietnamadminunits` package (a runtime dependency).

The package itself is not imported: its import takes seconds (shapely, geopy, 4 MB of JSON), its
converter geocodes addresses with a street over the network (ArcGIS), and for a ward that was
split it silently picks one. Instead its two data files are read once, lazily, into a compact
index (build time, lookup time and memory: bench/ward_lookup.py):

- `data/converter_2025.json`: which old (province, district, ward) went to which new ward, and
  for the 471 split wards all the new wards that share it;
- `data/dataset.db`, table `admin_units_legacy`: the old names, with the package's spellings
  (keywords), and table `admin_units`: the new ward keys with their codes (the codes of
  data/wards.json, which is generated from the same table).

`look_up_ward` is what a ward question calls: today's names first (an exact new name always
wins), then an old ward with its district, then a district alone (districts no longer exist).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.core.i18n import _
from services.core.text import compact
from services.knowledge.wards import (
    MAX_QUERY_CHARS,
    Ward,
    accented_key,
    get_ward,
    province_alias,
    query_tokens,
    search_ward_matches,
)

log = logging.getLogger(__name__)

PACKAGE = "vietnamadminunits"
MAX_DISTRICT_BUTTONS = 8  # a district's new wards offered as buttons; more are asked for by name
MAX_OLD_WARDS = 4  # more old wards of that name (no district given): ask for the district
MIN_BARE_CHARS = 3  # a name typed without "phường"/"quận" must be at least this long

# The type words of old units, as they lead the compact key ("phuongbennghe") or end it in
# English ("benngheward"). Thị trấn (township) was a ward level too.
_WARD_PREFIXES = {
    "Phường": ("phuong", "p", "f"),
    "Xã": ("xa", "x"),
    "Thị trấn": ("thitran", "tt"),
}
_WARD_SUFFIXES = {"Phường": ("ward",), "Xã": ("commune",), "Thị trấn": ("town", "township")}
_DISTRICT_PREFIXES = {
    "Quận": ("quan", "q", "district"),
    "Huyện": ("huyen", "h", "district"),
    "Thị xã": ("thixa", "tx"),
    "Thành phố": ("thanhpho", "tp"),
}
_DISTRICT_SUFFIXES = {
    "Quận": ("district",),
    "Huyện": ("district",),
    "Thị xã": ("town",),
    "Thành phố": ("city",),
}
_PROVINCE_PREFIXES = ("", "tp", "thanhpho", "tinh")
_ALL_WARD_PREFIXES = ("phuong", "xa", "thitran")
_ALL_DISTRICT_PREFIXES = ("quan", "huyen", "thixa", "thanhpho")


@dataclass(frozen=True, slots=True)
class OldDistrict:
    """A district before 2025 (quận, huyện, thị xã, thành phố thuộc tỉnh)."""

    key: str  # "thanhphohochiminh_quan1": stable, kept between two messages
    name: str  # "Quận 1"
    province_label: str  # "TP. Hồ Chí Minh"
    new_wards: tuple[Ward, ...]  # the wards that took over its area, the largest share first

    @property
    def label(self) -> str:
        """With its old province: "Quận 1 (TP. Hồ Chí Minh)" (a comma would read as two places)."""
        return f"{self.name} ({self.province_label})"


@dataclass(frozen=True, slots=True)
class OldWard:
    """A ward or commune before 2025, and the ward(s) that took its place."""

    name: str  # "Phường Bến Nghé"
    district: OldDistrict
    new_wards: tuple[Ward, ...]  # the package's default first

    @property
    def split(self) -> bool:
        """Its area was divided between several new wards."""
        return len(self.new_wards) > 1


@dataclass(frozen=True, slots=True)
class OldReading:
    """What the text names in the old units: wards (best reading), or districts alone."""

    wards: tuple[OldWard, ...] = ()
    with_district: bool = False  # the wards were named with their district (or a remembered one)
    districts: tuple[OldDistrict, ...] = ()  # districts named without a ward


@dataclass(frozen=True, slots=True)
class WardLookup:
    """The answer to a typed ward: candidates to offer, and what to say about an old address."""

    wards: tuple[Ward, ...] = ()
    notes: tuple[str, ...] = ()
    district: str | None = None  # a district named alone: read the next answer inside it


# ------------------------------------------------------------------------------ the index


@dataclass
class _Index:
    """The old units and their spellings, from the package's data files."""

    wards: list[OldWard] = field(default_factory=list)
    ward_district: list[int] = field(default_factory=list)  # ward index -> district index
    ward_province: list[str] = field(default_factory=list)  # ward index -> old province key
    ward_short: list[str] = field(default_factory=list)  # the package's short key ("minhquán")
    districts: list[OldDistrict] = field(default_factory=list)
    district_province: list[str] = field(default_factory=list)
    district_short: list[str] = field(default_factory=list)
    district_by_key: dict[str, int] = field(default_factory=dict)
    # compact spelling -> (index, typed with its type word)
    ward_keys: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    district_keys: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    province_keys: dict[str, set[str]] = field(default_factory=dict)  # -> old province keys
    old_provinces_of: dict[str, set[str]] = field(default_factory=dict)  # new code -> old keys
    max_key_chars: int = 0


def package_data_dir() -> Path | None:
    """The package's data folder, found without importing the package (its import is slow)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _province_label(name: str, short: str) -> str:
    """As services.wards.Province.label: "TP. Hà Nội", "Hà Giang"."""
    return f"TP. {short}" if name.startswith("Thành phố") else short


def _folded(key: str) -> str:
    """A package key without diacritics: it keeps them ("minhquán") where two names of one
    district fold alike (Minh Quán, Minh Quân); those are told apart by _prefer_accented."""
    return key if key.isascii() else compact(key)


def _spellings(
    keywords: Iterable[str],
    short_key: str,
    name_key: str,
    prefixes: tuple[str, ...],
    suffixes: tuple[str, ...],
    all_prefixes: tuple[str, ...],
) -> dict[str, bool]:
    """Compact spellings of a unit -> whether the spelling carries the type word.

    The package's keys are compact already ("phuongbennghe", short "bennghe"). A keyword is
    bare when another keyword is it with a type word; numbered units ("Phường 5", "Quận 1")
    have no bare spelling (their short key is the name).
    """
    given = {_folded(k) for k in keywords}
    short_key, name_key = _folded(short_key), _folded(name_key)
    bare = {k for k in given if any(p + k in given for p in all_prefixes)}
    if short_key != name_key:
        bare.add(short_key)
    bare = {k for k in bare if len(k) >= MIN_BARE_CHARS and not k.isdigit()}
    spellings = {k: k not in bare for k in given}
    spellings[name_key] = True
    for base in bare:
        spellings[base] = False
        for prefix in prefixes:
            spellings[prefix + base] = True
        for suffix in suffixes:
            spellings[base + suffix] = True
    return spellings


def _build(data_dir: Path) -> _Index:
    """Read the package's mapping and names into the index."""
    with (data_dir / "converter_2025.json").open(encoding="utf-8") as f:
        converter = json.load(f)
    con = sqlite3.connect(f"file:{data_dir / 'dataset.db'}?mode=ro", uri=True)
    try:
        new_rows = con.execute(
            "SELECT provinceKey, wardKey, provinceCode, wardCode FROM admin_units"
        ).fetchall()
        old_rows = con.execute(
            "SELECT province, provinceShort, provinceKey, provinceKeywords, district,"
            " districtShortKey, districtKey, districtKeywords, ward, wardShortKey, wardKey,"
            " wardKeywords FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode"
        ).fetchall()
    finally:
        con.close()

    new_ward = {(pk, wk): (pc, wc) for pk, wk, pc, wc in new_rows}
    new_province_code = {pk: pc for pk, _wk, pc, _wc in new_rows}
    new_province_of = {old: new for new, olds in converter["DICT_PROVINCE"].items() for old in olds}
    # old "province_district_ward" key -> new ward keys (the package's default first)
    targets: dict[str, tuple[str, list[str]]] = {}
    for new_pk, by_new in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_wk, old_keys in by_new.items():
            for old_key in old_keys:
                targets[old_key] = (new_pk, [new_wk])
    for new_pk, by_old in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, choices in by_old.items():
            ordered = sorted(choices, key=lambda c: not c["isDefaultNewWard"])
            targets[old_key] = (new_pk, [c["newWardKey"] for c in ordered])

    resolved: dict[str, tuple[Ward, ...]] = {}

    def resolve(old_key: str) -> tuple[Ward, ...]:
        """Today's wards for an old key, as objects of services.wards."""
        if old_key not in resolved:
            new_pk, new_wks = targets.get(old_key, ("", []))
            found = [get_ward(*new_ward.get((new_pk, wk), ("", ""))) for wk in new_wks]
            resolved[old_key] = tuple(w for w in found if w is not None)
        return resolved[old_key]

    index = _Index()
    seen_provinces: set[str] = set()
    # First the districts (their new wards are the union of their old wards' new wards).
    district_rows: dict[str, list[tuple[str, ...]]] = {}
    for row in old_rows:
        district_rows.setdefault(f"{row[2]}_{row[6]}", []).append(row)
    for dkey, rows in district_rows.items():
        (
            province,
            province_short,
            pkey,
            pkeywords,
            district,
            district_short_key,
            district_key,
            dkeywords,
        ) = rows[0][:8]
        shares: Counter[Ward] = Counter()
        for row in rows:
            for rank, ward in enumerate(resolve(f"{pkey}_{row[6]}_{row[10] or ''}")):
                shares[ward] += 2 if rank == 0 else 1
        new_wards = tuple(sorted(shares, key=lambda w: (-shares[w], w.province_code, w.code)))
        d_index = len(index.districts)
        index.districts.append(
            OldDistrict(dkey, district, _province_label(province, province_short), new_wards)
        )
        index.district_province.append(pkey)
        index.district_short.append(district_short_key)
        index.district_by_key[dkey] = d_index
        kind = next((t for t in _DISTRICT_PREFIXES if district.startswith(t)), "")
        for key, typed in _spellings(
            json.loads(dkeywords or "[]"),
            district_short_key,
            district_key,
            _DISTRICT_PREFIXES.get(kind, ()),
            _DISTRICT_SUFFIXES.get(kind, ()),
            _ALL_DISTRICT_PREFIXES,
        ).items():
            index.district_keys.setdefault(key, []).append((d_index, typed))
        if pkey not in seen_provinces:
            seen_provinces.add(pkey)
            for spelling in [*json.loads(pkeywords or "[]"), compact(province_short)]:
                for prefix in _PROVINCE_PREFIXES:
                    index.province_keys.setdefault(prefix + spelling, set()).add(pkey)
            new_code = new_province_code.get(new_province_of.get(pkey, ""), "")
            index.old_provinces_of.setdefault(new_code, set()).add(pkey)
        for row in rows:
            ward_name, ward_short_key, ward_key, ward_keywords = row[8:12]
            if not ward_name:
                continue  # an island district without wards (now a đặc khu)
            w_index = len(index.wards)
            index.wards.append(
                OldWard(ward_name, index.districts[d_index], resolve(f"{dkey}_{ward_key}"))
            )
            index.ward_district.append(d_index)
            index.ward_province.append(pkey)
            index.ward_short.append(ward_short_key)
            kind = next((t for t in _WARD_PREFIXES if ward_name.startswith(t)), "")
            for key, typed in _spellings(
                json.loads(ward_keywords or "[]"),
                ward_short_key,
                ward_key,
                _WARD_PREFIXES.get(kind, ()),
                _WARD_SUFFIXES.get(kind, ()),
                _ALL_WARD_PREFIXES,
            ).items():
                index.ward_keys.setdefault(key, []).append((w_index, typed))
    index.max_key_chars = max(
        len(k) for keys in (index.ward_keys, index.district_keys, index.province_keys) for k in keys
    )
    return index


_index_lock = threading.Lock()
_loaded: _Index | None = None


def _index() -> _Index:
    """The index, built on first use (a background preload() usually got there first)."""
    global _loaded
    if _loaded is None:
        with _index_lock:
            if _loaded is None:
                data_dir = package_data_dir()
                try:
                    if data_dir is None:
                        raise FileNotFoundError(PACKAGE)
                    _loaded = _build(data_dir)
                except (OSError, sqlite3.Error, ValueError, KeyError, TypeError) as error:
                    # Old addresses are a help, not a requirement: today's names still work.
                    log.warning(
                        "old ward names unavailable (%s): %s", PACKAGE, type(error).__name__
                    )
                    _loaded = _Index()
    return _loaded


_preloading: threading.Thread | None = None


def preload() -> None:
    """Build the index in a background thread, so no person waits for it (once; cheap after)."""
    global _preloading
    if _loaded is not None or (_preloading is not None and _preloading.is_alive()):
        return
    _preloading = threading.Thread(target=_index, name="old-addresses", daemon=True)
    _preloading.start()


def get_old_district(key: str) -> OldDistrict | None:
    """The district with this key ("thanhphohochiminh_quan1"), or None."""
    index = _index()
    found = index.district_by_key.get(key)
    return None if found is None else index.districts[found]


# ------------------------------------------------------------------------------ reading text


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    index: int
    typed: bool


def _spans(
    keys: dict[str, list[tuple[int, bool]]], tokens: list[str], max_chars: int
) -> list[_Span]:
    """Every run of words that spells a unit."""
    found = []
    for i in range(len(tokens)):
        key = ""
        for j in range(i, len(tokens)):
            key += tokens[j]
            if len(key) > max_chars:
                break
            for index, typed in keys.get(key, ()):
                found.append(_Span(i, j + 1, index, typed))
    return found


def _province_spans(index: _Index, tokens: list[str]) -> list[tuple[int, int, set[str]]]:
    """Runs of words naming a province, old ("Bình Dương") or new ("TP HCM"): old keys."""
    found = []
    for i in range(len(tokens)):
        key = ""
        for j in range(i, min(len(tokens), i + 8)):
            key += tokens[j]
            olds = set(index.province_keys.get(key, ()))
            code = province_alias(key)
            if code is not None:
                olds |= index.old_provinces_of.get(code, set())
            if olds:
                found.append((i, j + 1, olds))
    return found


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _prefer_accented(found: list[int], short_keys: list[str], typed: str) -> list[int]:
    """Of names that fold alike (Minh Quán, Minh Quân), those typed with their diacritics."""
    if len(found) < 2 or typed.isascii():
        return found
    exact = [i for i in found if short_keys[i] in typed]
    return exact or found


def read_old_address(
    text: str, province_code: str | None = None, district: str | None = None
) -> OldReading:
    """The old units named in the text; inside one new province, or one remembered district."""
    if not isinstance(text, str):
        return OldReading()
    tokens = query_tokens(text[:MAX_QUERY_CHARS])
    if not tokens:
        return OldReading()
    index = _index()
    allowed: set[str] | None = None
    if province_code is not None:
        allowed = index.old_provinces_of.get(province_code, set())
    hint = index.district_by_key.get(district or "")
    n = len(tokens)
    ward_spans = [
        s
        for s in _spans(index.ward_keys, tokens, index.max_key_chars)
        if allowed is None or index.ward_province[s.index] in allowed
    ]
    district_spans = [
        s
        for s in _spans(index.district_keys, tokens, index.max_key_chars)
        if allowed is None or index.district_province[s.index] in allowed
    ]
    provinces = _province_spans(index, tokens)

    def province_for(pkey: str, used: list[tuple[int, int]]) -> tuple[int, int] | None:
        """The longest province run consistent with the unit and clear of the other spans."""
        fitting = [
            (s, e)
            for s, e, olds in provinces
            if pkey in olds and not any(_overlap((s, e), u) for u in used)
        ]
        return max(fitting, key=lambda r: r[1] - r[0], default=None)

    def single(span: _Span, pkey: str) -> tuple[int, int] | None:
        """A unit named alone: (covered, typed) when the rest of the text allows it, else None.

        Only a province may follow it; before it, words are allowed (a street, "tôi ở") when it
        carries its type word ("phường Bến Nghé"), none when bare ("Bến Nghé").
        """
        province = province_for(pkey, [(span.start, span.end)])
        covered = {*range(span.start, span.end)}
        if province is not None:
            covered |= {*range(*province)}
        uncovered = [i for i in range(n) if i not in covered]
        if any(i > span.start for i in uncovered) or (uncovered and not span.typed):
            return None
        return (len(covered), int(span.typed) + int(province is not None))

    # An old ward with its district ("phường 1 quận 3"), or in the remembered district.
    best: tuple[int, ...] = ()
    paired: list[int] = []
    for w in ward_spans:
        w_district = index.ward_district[w.index]
        options: list[tuple[int, ...]] = []
        for d in district_spans:
            if d.index == w_district and not _overlap((w.start, w.end), (d.start, d.end)):
                used = [(w.start, w.end), (d.start, d.end)]
                province = province_for(index.ward_province[w.index], used)
                size = (w.end - w.start) + (d.end - d.start)
                size += 0 if province is None else province[1] - province[0]
                options.append((size, int(w.typed) + int(d.typed), int(province is not None)))
        if w_district == hint and (score := single(w, index.ward_province[w.index])):
            options.append((*score, 0))
        for option in options:
            if option > best:
                best, paired = option, [w.index]
            elif option == best and w.index not in paired:
                paired.append(w.index)
    typed_accents = accented_key(text[:MAX_QUERY_CHARS])
    if paired:
        paired = _prefer_accented(paired, index.ward_short, typed_accents)
        return OldReading(tuple(index.wards[i] for i in paired), with_district=True)

    # Else a ward alone, or a district alone (not when that district is also a province).
    province_runs = {(s, e) for s, e, _olds in provinces}
    ward_best: tuple[int, int] = (0, 0)
    wards: list[int] = []
    for w in ward_spans:
        if (score := single(w, index.ward_province[w.index])) is None:
            continue
        if score > ward_best:
            ward_best, wards = score, [w.index]
        elif score == ward_best and w.index not in wards:
            wards.append(w.index)
    district_best: tuple[int, int] = (0, 0)
    districts: list[int] = []
    for d in district_spans:
        if (d.start, d.end) in province_runs:
            continue  # "tp hue", "vung tau": read as the province
        if (score := single(d, index.district_province[d.index])) is None:
            continue
        if score > district_best:
            district_best, districts = score, [d.index]
        elif score == district_best and d.index not in districts:
            districts.append(d.index)
    wards = _prefer_accented(wards, index.ward_short, typed_accents)
    districts = _prefer_accented(districts, index.district_short, typed_accents)
    # A name that was both ("Sóc Sơn": a huyện and its thị trấn) is read both ways.
    if ward_best[0] < district_best[0]:
        wards = []
    if district_best[0] < ward_best[0]:
        districts = []
    return OldReading(
        wards=tuple(index.wards[i] for i in wards),
        districts=tuple(index.districts[i] for i in districts),
    )


# ------------------------------------------------------------------------------ the answer


def _unique(wards: Iterable[Ward]) -> list[Ward]:
    """In order, without repeats."""
    return list(dict.fromkeys(wards))


def _ward_notes(old: OldWard) -> str:
    """ "Phường Bến Nghé (Quận 1) nay thuộc Phường Sài Gòn, TP. Hồ Chí Minh." """
    if not old.new_wards:
        return _("{old} ({district}) is not in the data of today's wards.").format(
            old=old.name, district=old.district.name
        )
    if not old.split:
        return _("{old} ({district}) is now part of {new}.").format(
            old=old.name, district=old.district.name, new=old.new_wards[0].label
        )
    return _(
        "{old} ({district}) was divided between {wards} ({province}): which one is yours "
        "depends on the exact address (street, hamlet)."
    ).format(
        old=old.name,
        district=old.district.name,
        wards=", ".join(w.name for w in old.new_wards),
        province=old.new_wards[0].province.label,
    )


def _no_districts() -> str:
    """Why a district is not an answer any more."""
    return _(
        "Since 1 July 2025 there are no more districts (quận, huyện, thị xã): only provinces "
        "and wards or communes."
    )


def _district_gone(district: OldDistrict) -> str:
    """ "Quận 1 (TP. Hồ Chí Minh) no longer exists: ..." """
    return _(
        "{district} no longer exists: since 1 July 2025 there are no more districts (quận, "
        "huyện, thị xã), only provinces and wards or communes."
    ).format(district=district.label)


def _district_answer(districts: tuple[OldDistrict, ...]) -> WardLookup:
    """A district typed alone: say it no longer exists, offer the wards that took it over."""
    if len(districts) > 1:
        places = ", ".join(d.province_label for d in districts[:6])
        return WardLookup(
            notes=(
                _no_districts(),
                _(
                    "There were several places called {name} ({places}). Please type the name "
                    "of the ward or commune, with the province."
                ).format(name=districts[0].name, places=places),
            )
        )
    (district,) = districts
    if 0 < len(district.new_wards) <= MAX_DISTRICT_BUTTONS:
        return WardLookup(
            wards=district.new_wards,
            notes=(
                _district_gone(district),
                _(
                    "The area of the former {district} is now in the wards and communes below. "
                    "You can also type the name of the former ward."
                ).format(district=district.name),
            ),
            district=district.key,
        )
    return WardLookup(
        notes=(
            _district_gone(district),
            _(
                "The area of the former {district} is now in many wards and communes: please "
                "type the name of the ward (the former name works too)."
            ).format(district=district.name),
        ),
        district=district.key,
    )


def look_up_ward(
    text: str,
    province_code: str | None = None,
    district: str | None = None,
    limit: int = 6,
    anywhere: bool = True,
) -> WardLookup:
    """What to offer for a typed ward, today's names first, then the old units.

    An exact match of a ward's name today always comes first ("Hà Đông, Hà Nội" is Phường Hà
    Đông); an old district in the text makes it an old address ("Văn Quán, Hà Đông, Hà Nội").
    With a province, nothing found there is looked for in every province unless `anywhere` is
    False. An empty result means: nothing of either kind (the caller tries a province next).
    """
    widen = bool(province_code) and anywhere
    reading = read_old_address(text, province_code, district)
    if widen and not (reading.wards or reading.districts):
        reading = read_old_address(text, None, district)
    # With an old reading only an exact match of today can win: skip the (slow) typo pass.
    fuzzy = not (reading.wards or reading.districts)
    matches = search_ward_matches(text, province_code, limit, fuzzy)
    if not matches and widen:
        matches = search_ward_matches(text, None, limit, fuzzy)

    if matches and matches[0].exact:
        found = [m.ward for m in matches if m.exact]
        if not reading.districts or reading.with_district:
            return WardLookup(tuple(found))
        # The name is today's ward and also was a district ("Hà Đông", "Hoàn Kiếm").
        (first, *_others) = reading.districts
        takers = first.new_wards if len(reading.districts) == 1 else ()
        if 0 < len(takers) <= MAX_DISTRICT_BUTTONS:
            note = _(
                "If you meant the former {district}: since 1 July 2025 there are no more "
                "districts, and its area is now in the wards and communes below."
            ).format(district=first.label)
            wards = _unique([*found, *takers])[:MAX_DISTRICT_BUTTONS]
            return WardLookup(tuple(wards), (note,), district=first.key)
        note = _(
            "If you meant the former {district}: since 1 July 2025 there are no more "
            "districts; please type the name of the ward (the former name works too)."
        ).format(district=first.label)
        return WardLookup(tuple(found), (note,), district=first.key)

    if reading.wards and (reading.with_district or len(reading.wards) <= MAX_OLD_WARDS):
        olds = reading.wards[:MAX_OLD_WARDS]
        notes = [_ward_notes(old) for old in olds]
        wards = _unique(w for old in olds for w in old.new_wards)
        if reading.districts and len(reading.districts) == 1:
            notes.append(_district_gone(reading.districts[0]))
            wards = _unique([*wards, *reading.districts[0].new_wards])
        return WardLookup(tuple(wards[:MAX_DISTRICT_BUTTONS]), tuple(notes))
    if reading.wards:
        return WardLookup(
            notes=(
                _(
                    "Several former wards or communes were called “{name}”. Please add the "
                    "former district or the province (e.g. “phường 1, quận 3”)."
                ).format(name=reading.wards[0].name),
            )
        )
    if reading.districts:
        return _district_answer(reading.districts)
    return WardLookup(tuple(m.ward for m in matches))
