"""Answers to common questions from a local knowledge base (locales/faq/*.toml), in Vietnamese or English.

The matcher is computed locally, with no network and no model: each entry's example questions and
keywords are folded (services.text.fold: no diacritics, no case, no punctuation), chat shorthand is
expanded ("ko" → "khong", "dc" → "duoc"), and the text becomes TF-IDF vectors of words, word pairs and
character n-grams (the n-grams catch typos and words run together). A question scores the cosine of
its closest example. Below a threshold the index answers None ("I don't know"); the threshold is
learned when the index is built, from the knowledge base's own questions held out one at a time
against the chit-chat and off-topic messages of locales/faq/_calibration.toml.
"""

from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from services.text import fold

FAQ_DIR = Path(__file__).resolve().parent.parent / "locales" / "faq"
CALIBRATION_FILE = "_calibration.toml"  # files starting with "_" hold no entries
MAX_QUERY_CHARS = 300  # a question is short; longer text is cut before matching

# Weights of the three feature families in the score (they sum to 1).
WORD_WEIGHT = 0.5
PAIR_WEIGHT = 0.15
CHAR_WEIGHT = 0.35
CHAR_NGRAMS = (3, 4)
UNSEEN_WEIGHT = 1.0
EXAMPLE_WEIGHT = 0.7  # the closest example's cosine vs the entry vocabulary's coverage

# Chat shorthand, after folding. Only unambiguous forms: "hong" (hồng) and "dk" (đăng ký or điều
# kiện) are left alone.
SHORTHAND: Mapping[str, str] = {
    "k": "khong",
    "ko": "khong",
    "kg": "kg",
    "kh": "khong",
    "khg": "khong",
    "hok": "khong",
    "hem": "khong",
    "dc": "duoc",
    "bn": "bao nhieu",
    "j": "gi",
    "ntn": "nhu the nao",
    "mk": "minh",
    "mik": "minh",
    "mjk": "minh",
    "ng": "nguoi",
    "bs": "bac si",
    "hmtn": "hien mau tinh nguyen",
    "tc": "tieu cau",
    "sxh": "sot xuat huyet",
    "xn": "xet nghiem",
    "trc": "truoc",
    "vs": "voi",
    "cx": "cung",
    "ms": "moi",
    "bh": "bao gio",
    "bjo": "bay gio",
    "wa": "qua",
    "lm": "lam",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "cmnd": "can cuoc",
    "cccd": "can cuoc",
}

# Several spellings of one thing, after folding and shorthand (whole words only).
PHRASES: Mapping[str, str] = {
    "vac xin": "vaccine",
    "vacxin": "vaccine",
    "vacin": "vaccine",
    "vaccin": "vaccine",
    "cho mau": "hien mau",
    "give blood": "donate",
    "blood donation": "donate",
    "blood donor": "donate",
    # Greetings and thanks become words the knowledge base never uses ("cảm ơn" is not "cảm").
    "xin chao": "hello",
    "chao": "hello",
    "cam on": "thanks",
    "tam biet": "bye",
    "chuc ngu ngon": "goodnight",
}

# English forms of one word, after stemming.
LEMMAS: Mapping[str, str] = {
    "giv": "give",
    "gave": "give",
    "given": "give",
    "donor": "donat",
    "took": "take",
    "tak": "take",
    "ate": "eat",
    "slept": "sleep",
    "felt": "feel",
    "got": "get",
}

# Words that tell a question is about giving blood (folded; an accented form must be this one,
# so "màu" colour and "hiện" now are not "máu" and "hiến"). Without one, a match must score
# higher (a second, stricter threshold is learned for such questions).
ANCHORS: Mapping[str, str] = {
    "mau": "máu",
    "hien": "hiến",
    "blood": "blood",
    "donat": "donat",
    "platelet": "platelet",
    "plasma": "plasma",
    "apheresi": "apheresi",
    "transfusion": "transfusion",
    "bot": "bot",
}
ANCHOR_PAIRS = frozenset({"tieu cau", "huyet tuong", "gan tach"})

# Words that carry no topic on their own (folded). They still form word pairs ("khi nao",
# "tai sao", "o dau") but are left out of single words and character n-grams.
STOPWORDS = frozenset(
    ["a", "ah", "ai", "anh", "ay", "bao", "ban", "bi", "cac", "can", "cho", "chi", "chua", "co", "cua", "da", "dang", "de", "di", "do", "duoc", "em", "gi", "ha", "hay", "ho", "khi", "khong", "kia", "la", "lai", "lam", "luon", "ma", "minh", "moi", "mot", "nao", "nay", "nen", "nhe", "nhi", "nhieu", "nhu", "nhung", "nua", "oi", "phai", "qua", "ra", "rat", "roi", "sao", "se", "the", "thi", "thoi", "toi", "tu", "va", "vay", "vao", "ve", "voi", "vua", "xong", "u", "i", "me", "my", "we", "you", "your", "the", "an", "is", "are", "am", "be", "been", "do", "does", "did", "can", "could", "should", "would", "will", "of", "to", "in", "on", "at", "for", "with", "it", "its", "this", "that", "what", "which", "who", "how", "or", "and", "if", "so", "just", "now", "there", "get", "got", "have", "has", "had", "about", "any", "some", "please", "ok", "okay"]
)
# Pairs of stopwords that still ask something precise ("khi nào" when, "tại sao" why).
PAIR_KEEP: Mapping[str, str] = {"khi": "nao", "tai": "sao", "bao": "nhieu", "lam": "sao", "nhu": "the"}

_DIGITS_UNITS = re.compile(r"(\d)(kg|ml|k)\b")


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """One question of the knowledge base, with its phrasings and its answer in both languages."""

    id: str
    topic: str
    questions_vi: tuple[str, ...]
    questions_en: tuple[str, ...]
    keywords: tuple[str, ...]
    answer_vi: str
    answer_en: str

    def answer(self, locale: str) -> str:
        """The answer in a locale ("en", else Vietnamese)."""
        return self.answer_en if locale.split("-")[0].lower() == "en" else self.answer_vi


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The entry that answers a question, how close it is (0–1), and the answer in the locale."""

    entry: FaqEntry
    score: float
    answer: str


# --- text to features ----------------------------------------------------------------------------

_TOKEN = re.compile(r"\d+|[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Token:
    """A word as typed (lower case, accents kept) and folded (no accents)."""

    folded: str
    accented: str


def _stem(word: str) -> str:
    """Strip common English endings (only applied to words typed without accents)."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 6 and word.endswith("ation"):
        word = word[:-3]
    elif len(word) > 5 and word.endswith("ate"):
        word = word[:-1]
    return LEMMAS.get(word, word)


def _phrases() -> dict[tuple[str, ...], str]:
    """PHRASES keyed by their words, longest first."""
    keyed = {
        tuple(_stem(word) for word in phrase.split()): " ".join(_stem(w) for w in canonical.split())
        for phrase, canonical in PHRASES.items()
    }
    return dict(sorted(keyed.items(), key=lambda item: -len(item[0])))


_PHRASES = _phrases()
_LONGEST_PHRASE = max((len(k) for k in _PHRASES), default=1)


def tokens(text: str) -> list[Token]:
    """Words of a text: shorthand expanded, spellings unified, English lightly stemmed."""
    raw: list[Token] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text[:MAX_QUERY_CHARS].lower())):
        accented = match.group()
        folded = fold(accented).replace(" ", "")
        if not folded:
            continue
        expansion = SHORTHAND.get(folded)
        if expansion is not None:
            raw += [Token(word, word) for word in expansion.split()]
        elif folded == accented:
            stemmed = folded if folded in STOPWORDS else _stem(folded)
            raw.append(Token(stemmed, stemmed))
        else:
            raw.append(Token(folded, accented))
    out: list[Token] = []
    i = 0
    while i < len(raw):
        for size in range(min(_LONGEST_PHRASE, len(raw) - i), 1, -1):
            canonical = _PHRASES.get(tuple(t.folded for t in raw[i : i + size]))
            if canonical is not None:
                out += [Token(word, word) for word in canonical.split()]
                i += size
                break
        else:
            canonical = _PHRASES.get((raw[i].folded,))
            out += [Token(word, word) for word in canonical.split()] if canonical else [raw[i]]
            i += 1
    return out


def words(text: str) -> list[str]:
    """The folded words of a text, as the matcher sees them."""
    return [t.folded for t in tokens(text)]


def anchored(text: str) -> bool:
    """Whether a text names blood donation (or the bot) in so many words."""
    toks = tokens(text)
    for token in toks:
        accent = ANCHORS.get(token.folded)
        if accent is not None and token.accented in (token.folded, accent):
            return True
    return any(f"{a.folded} {b.folded}" in ANCHOR_PAIRS for a, b in zip(toks, toks[1:], strict=False))


def is_accented(text: str) -> bool:
    """Whether a text is typed with Vietnamese accents (then accents tell đau from đâu)."""
    return any(t.folded != t.accented for t in tokens(text))


Counts = dict[str, float]


def _add(counts: Counts, key: str) -> None:
    """Count one feature."""
    counts[key] = counts.get(key, 0.0) + 1.0


def features(text: str) -> dict[str, Counts]:
    """Every feature family of a text: folded and accented words and pairs, character n-grams."""
    toks = tokens(text)
    families: dict[str, Counts] = {family: {} for family in FAMILIES}
    content = [t for t in toks if t.folded not in STOPWORDS]
    for token in content:
        _add(families["w"], token.folded)
        _add(families["aw"], token.accented)
    for first, second in zip(toks, toks[1:], strict=False):
        if (
            first.folded in STOPWORDS
            and second.folded in STOPWORDS
            and PAIR_KEEP.get(first.folded) != second.folded
        ):
            continue
        _add(families["p"], f"{first.folded} {second.folded}")
        _add(families["ap"], f"{first.accented} {second.accented}")
    if content:
        joined = "_" + "_".join(t.folded for t in content) + "_"
        for n in CHAR_NGRAMS:
            for i in range(len(joined) - n + 1):
                _add(families["c"], joined[i : i + n])
    return families


# --- the knowledge base --------------------------------------------------------------------------


def _entry(raw: Mapping[str, object], topic_default: str) -> FaqEntry:
    """One entry from its TOML table."""

    def texts(key: str) -> tuple[str, ...]:
        value = raw.get(key, [])
        if not isinstance(value, list):
            raise ValueError(f"{raw.get('id')}: {key} must be a list")
        return tuple(str(v).strip() for v in value)

    return FaqEntry(
        id=str(raw["id"]),
        topic=str(raw.get("topic", topic_default)),
        questions_vi=texts("questions_vi"),
        questions_en=texts("questions_en"),
        keywords=texts("keywords"),
        answer_vi=str(raw["answer_vi"]).strip(),
        answer_en=str(raw["answer_en"]).strip(),
    )


def load_entries(directory: Path = FAQ_DIR) -> list[FaqEntry]:
    """Every entry of the topic files, in file then entry order; ids must be unique."""
    entries: list[FaqEntry] = []
    for path in sorted(directory.glob("*.toml")):
        if path.name.startswith("_"):
            continue
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        entries += [_entry(raw, path.stem) for raw in data.get("entries", [])]
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise ValueError(f"duplicate FAQ id {entry.id!r}")
        seen.add(entry.id)
    return entries


def load_calibration(directory: Path = FAQ_DIR) -> list[str]:
    """Messages the index must not answer (greetings, chit-chat, other subjects)."""
    path = directory / CALIBRATION_FILE
    if not path.exists():
        return []
    with path.open("rb") as fh:
        return [str(m) for m in tomllib.load(fh).get("off_topic", [])]


# --- the index -----------------------------------------------------------------------------------

FAMILIES = ("w", "p", "c", "aw", "ap")
# The families read for a question typed without accents, and with them.
_PLAIN = {"w": WORD_WEIGHT, "p": PAIR_WEIGHT, "c": CHAR_WEIGHT}
_ACCENTED = {"aw": WORD_WEIGHT, "ap": PAIR_WEIGHT, "c": CHAR_WEIGHT}
_PAIR_FAMILIES = ("p", "ap")


@dataclass(frozen=True, slots=True)
class _Doc:
    """One example (a question, or an entry's keywords) pointing to its entry."""

    entry: int
    source: str
    question: bool


class FaqIndex:
    """TF-IDF over the examples of every entry; `match` returns the best entry or None."""

    def __init__(
        self,
        entries: Sequence[FaqEntry],
        negatives: Iterable[str] = (),
        threshold: float | None = None,
    ) -> None:
        """Index the entries, then learn the threshold from them and the negatives unless given."""
        self.entries: tuple[FaqEntry, ...] = tuple(entries)
        self._docs: list[_Doc] = []
        doc_features: list[dict[str, Counts]] = []
        for number, entry in enumerate(self.entries):
            for text in (*entry.questions_vi, *entry.questions_en):
                self._docs.append(_Doc(number, text, True))
                doc_features.append(features(text))
            for text in entry.keywords:
                self._docs.append(_Doc(number, text, False))
                doc_features.append(features(text))
        self._doc_features = doc_features
        self._idf = self._compute_idf(doc_features)
        # Per family, feature → {entry: number of its examples holding it}.
        self._entry_docs: dict[str, dict[str, dict[int, int]]] = {f: {} for f in FAMILIES}
        for doc, families in zip(self._docs, doc_features, strict=True):
            for family, counts in families.items():
                for feature in counts:
                    holders = self._entry_docs[family].setdefault(feature, {})
                    holders[doc.entry] = holders.get(doc.entry, 0) + 1
        # A word the knowledge base never uses counts against the match like a rare word; an
        # unseen word pair does not (most pairs are new).
        rare = math.log((len(self.entries) + 1) / 1.5) * UNSEEN_WEIGHT
        self._unseen_idf = {f: 0.0 if f in _PAIR_FAMILIES else rare for f in FAMILIES}
        # Inverted lists per family: feature → [(doc, weight)], and each doc's norm per family.
        self._postings: dict[str, dict[str, list[tuple[int, float]]]] = {f: {} for f in FAMILIES}
        self._norms: list[dict[str, float]] = []
        for number, families in enumerate(doc_features):
            norms: dict[str, float] = {}
            for family, counts in families.items():
                idf = self._idf[family]
                total = 0.0
                for feature, count in counts.items():
                    weight = (1.0 + math.log(count)) * idf[feature]
                    if weight <= 0.0:
                        continue
                    self._postings[family].setdefault(feature, []).append((number, weight))
                    total += weight * weight
                norms[family] = math.sqrt(total)
            self._norms.append(norms)
        if threshold is not None:
            self.threshold = self.threshold_unanchored = threshold
        else:
            self.threshold, self.threshold_unanchored = self._learn_thresholds(negatives)

    def _compute_idf(self, doc_features: Sequence[dict[str, Counts]]) -> dict[str, Counts]:
        """Inverse frequency of each feature over entries (not examples), per family."""
        holders: dict[str, dict[str, set[int]]] = {f: defaultdict(set) for f in FAMILIES}
        for doc, families in zip(self._docs, doc_features, strict=True):
            for family, counts in families.items():
                for feature in counts:
                    holders[family][feature].add(doc.entry)
        total = len(self.entries)
        return {
            family: {
                feature: math.log((total + 1) / (len(entries) + 0.5))
                for feature, entries in found.items()
            }
            for family, found in holders.items()
        }

    @classmethod
    def load(cls, directory: Path = FAQ_DIR) -> FaqIndex:
        """Build the index from the topic files and the calibration file of a directory."""
        return cls(load_entries(directory), load_calibration(directory))

    def _scores(self, question: str, skip_doc: int | None = None) -> dict[int, float]:
        """Score per entry for a question (optionally leaving one example out).

        The score mixes the cosine with the entry's closest example and the share of the
        question's weight that the entry's vocabulary covers.
        """
        families = features(question)
        shares = _ACCENTED if families["aw"] != families["w"] else _PLAIN
        skipped = self._doc_features[skip_doc] if skip_doc is not None else None
        doc_scores: dict[int, float] = defaultdict(float)
        coverage: dict[int, float] = defaultdict(float)
        for family, share in shares.items():
            idf = self._idf[family]
            unseen = self._unseen_idf[family]
            query: Counts = {}
            for feature, count in families[family].items():
                weight = (1.0 + math.log(count)) * idf.get(feature, unseen)
                if weight > 0.0:
                    query[feature] = weight
            mass = sum(w * w for w in query.values())
            if mass == 0.0:
                continue
            norm = math.sqrt(mass)
            postings = self._postings[family]
            partial: dict[int, float] = defaultdict(float)
            for feature, weight in query.items():
                for doc, doc_weight in postings.get(feature, ()):
                    partial[doc] += weight * doc_weight
                holders = self._entry_docs[family].get(feature, {})
                for entry, count in holders.items():
                    if skipped is not None and self._docs[skip_doc or 0].entry == entry:
                        count -= 1 if feature in skipped[family] else 0
                    if count > 0:
                        coverage[entry] += share * weight * weight / mass
            for doc, dot in partial.items():
                doc_norm = self._norms[doc].get(family, 0.0)
                if doc_norm:
                    doc_scores[doc] += share * dot / (norm * doc_norm)
        best: dict[int, float] = {}
        for doc, score in doc_scores.items():
            if doc == skip_doc:
                continue
            entry = self._docs[doc].entry
            if score > best.get(entry, 0.0):
                best[entry] = score
        return {
            entry: EXAMPLE_WEIGHT * best.get(entry, 0.0) + (1 - EXAMPLE_WEIGHT) * covered
            for entry, covered in coverage.items()
        }

    def rank(self, question: str, limit: int = 3) -> list[tuple[FaqEntry, float]]:
        """The closest entries, best first, with their scores (no threshold)."""
        scores = self._scores(question)
        order = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [(self.entries[number], round(score, 6)) for number, score in order]

    def match(self, question: str, locale: str = "vi") -> FaqMatch | None:
        """The entry answering a question, with the answer in the locale; None when not confident."""
        ranked = self.rank(question, limit=1)
        if not ranked:
            return None
        entry, score = ranked[0]
        if score < (self.threshold if anchored(question) else self.threshold_unanchored):
            return None
        return FaqMatch(entry, score, entry.answer(locale))

    def _learn_thresholds(self, negatives: Iterable[str]) -> tuple[float, float]:
        """Cuts separating held-out KB questions (right entry) from the negatives.

        Each question of the knowledge base is matched with itself left out, as typed and with
        its accents stripped (people type both ways); each negative too. The first cut is for
        all questions; the second, never lower, for questions that do not name blood donation.
        """
        positives: list[tuple[float, bool]] = []
        for number, doc in enumerate(self._docs):
            if not doc.question:
                continue
            for variant in dict.fromkeys((doc.source, fold(doc.source))):
                scores = self._scores(variant, skip_doc=number)
                if not scores:
                    continue
                top = min(scores, key=lambda e: (-scores[e], e))
                if top == doc.entry:
                    positives.append((scores[top], anchored(variant)))
        rejected = [
            (max(self._scores(variant).values(), default=0.0), anchored(variant))
            for text in negatives
            for variant in dict.fromkeys((text, fold(text)))
        ]
        overall = learn_threshold([s for s, _ in positives], [s for s, _ in rejected])
        loose = learn_threshold(
            [s for s, a in positives if not a], [s for s, a in rejected if not a]
        )
        return overall, max(overall, loose)


def learn_threshold(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """The cut maximising balanced accuracy (ties: the lowest), placed midway between two scores."""
    if not positives:
        return 1.0
    if not negatives:
        return min(positives)
    candidates = sorted({*positives, *negatives})
    cuts = [candidates[0]] + [(a + b) / 2 for a, b in zip(candidates, candidates[1:], strict=False)]
    cuts.append(candidates[-1] + 1e-9)
    best_cut, best_value = cuts[0], -1.0
    for cut in cuts:
        kept = sum(1 for s in positives if s >= cut) / len(positives)
        refused = sum(1 for s in negatives if s < cut) / len(negatives)
        value = kept + refused
        if value > best_value + 1e-12:
            best_cut, best_value = cut, value
    return best_cut


@cache
def default_index() -> FaqIndex:
    """The index of locales/faq, built once per process."""
    return FaqIndex.load()


def match(question: str, locale: str = "vi") -> FaqMatch | None:
    """Match against the default index."""
    return default_index().match(question, locale)
