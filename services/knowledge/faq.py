"""Answers to common questions from a local knowledge base (locales/faq/*.toml), in Vietnamese or English.

The matcher is computed locally, with no network and no model. Text is folded (no diacritics, no
case, no punctuation; the accents are kept beside to tell "đau" from "đâu"), chat shorthand is
expanded ("ko" → "khong", "dc" → "duoc"), units after numbers are unified ("45 ký" → "45 kg"),
synonyms and spellings are mapped to one form ("đẻ" → "sinh", "xỉu" → "ngất", "diabetic" →
"diabetes", "TB" → "tuberculosis") and English is lightly stemmed. Each entry's example questions
and keywords become TF-IDF vectors of words, word pairs and character n-grams (the n-grams catch
typos and words run together). An entry scores a mix of the cosine with its closest example, the
cosine with its centroid (all its examples together), and the share of the question's weight its
vocabulary covers; a question with little matched weight is shrunk towards zero.

Below a threshold the index answers None ("I don't know"). The thresholds are learned when the
index is built, from the knowledge base's own questions held out one at a time against the
chit-chat and off-topic messages of locales/faq/_calibration.toml: one for questions that name
blood donation, and a stricter one for the others, which must also share two words (or a keyword
phrase) with the entry, since one common word ("tiền", "time") tells nothing.
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
from types import MappingProxyType
from typing import Any

from services.core.text import fold

FAQ_DIR = Path(__file__).resolve().parents[2] / "locales" / "faq"
CALIBRATION_FILE = "_calibration.toml"  # files starting with "_" hold no entries
CONVERSATION_FILE = "_conversation.toml"  # question words (and small talk: services/small_talk)
LEXICON_FILE = "_lexicon.toml"  # the word lists of the matcher (shorthand, synonyms, stopwords…)
MAX_QUERY_CHARS = 300  # a question is short: longer text is not answered

# Weights of the three feature families in the score (they sum to 1), and of the score's parts.
WORD_WEIGHT = 0.5
PAIR_WEIGHT = 0.15
CHAR_WEIGHT = 0.35
CHAR_NGRAMS = (3, 4)
UNSEEN_WEIGHT = 1.0
EXAMPLE_WEIGHT = 0.35  # the closest example's cosine (the rest: centroid and coverage)
CENTROID_WEIGHT = 0.45  # the cosine with the entry's centroid (all its examples together)
KEYWORD_DOC_WEIGHT = 1.0  # a keyword list counts as an example, this much
ACCENT_SHARE = 0.7  # share of the accented families for a question typed with accents
EVIDENCE_PRIOR = 15.0  # squared IDF weight a question needs before its score is trusted
MIN_IDF = 0.2  # features in nearly every entry ("máu", "hiến") are left out of the vectors
MIN_WORDS_UNANCHORED = 2  # words an entry must share with a question not naming donation
MIN_TOPIC_WORDS_UNANCHORED = 1  # of which not generic (GENERIC_WORDS: "where", "nearest")
UNANCHORED_NEGATIVE_WEIGHT = 2.0  # how much more a wrong answer costs than a refusal there

# The word lists (shorthand, units, synonyms, stopwords, anchors…) are data in
# locales/faq/_lexicon.toml, where each table says what it is for. Read once, at import.


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The word lists of locales/faq/_lexicon.toml, parsed."""

    shorthand: Mapping[str, str]
    units: Mapping[str, str]
    unit_spellings: Mapping[str, tuple[str, ...]]
    phrases: Mapping[str, str]
    accented: Mapping[str, str]
    lemmas: Mapping[str, str]
    anchors: Mapping[str, str]
    anchor_pairs: frozenset[str]
    stopwords: frozenset[str]
    accented_content: frozenset[str]
    plain_content: frozenset[str]
    pair_keep: frozenset[tuple[str, str]]
    generic_words: frozenset[str]


@cache
def lexicon(directory: Path = FAQ_DIR) -> Lexicon:
    """The word lists of the matcher, read once per directory."""
    with (directory / LEXICON_FILE).open("rb") as fh:
        raw = tomllib.load(fh)

    def words(values: Iterable[object]) -> frozenset[str]:
        return frozenset(str(v) for v in values)

    def table(values: Mapping[str, object]) -> Mapping[str, str]:
        return MappingProxyType({str(k): str(v) for k, v in values.items()})

    stopwords = raw["stopwords"]
    return Lexicon(
        shorthand=table(raw["shorthand"]),
        units=table(raw["units"]),
        unit_spellings=MappingProxyType(
            {str(k): tuple(str(v) for v in vs) for k, vs in raw["unit_spellings"].items()}
        ),
        phrases=table(raw["phrases"]),
        accented=table(raw["accented"]),
        lemmas=table(raw["lemmas"]),
        anchors=table(raw["anchors"]["words"]),
        anchor_pairs=words(raw["anchors"]["pairs"]),
        stopwords=words(stopwords["vi"]) | words(stopwords["en"]),
        accented_content=words(stopwords["accented_content"]),
        plain_content=words(stopwords["plain_content"]),
        pair_keep=frozenset((str(a), str(b)) for a, b in stopwords["pair_keep"]),
        generic_words=words(raw["generic_words"]["vi"]) | words(raw["generic_words"]["en"]),
    )


_LEXICON = lexicon()
SHORTHAND = _LEXICON.shorthand  # chat shorthand, after folding ("ko" → "khong")
UNITS = _LEXICON.units  # units after a number ("45 ký" → "45 kg")
_UNIT_SPELLINGS = _LEXICON.unit_spellings  # units that are also words count only so typed
PHRASES = _LEXICON.phrases  # spellings and synonyms of one thing ("vac xin" → "vaccine")
ACCENTED = _LEXICON.accented  # words their accents make another word ("đẻ" → "sinh")
LEMMAS = _LEXICON.lemmas  # English forms of one word, after stemming
ANCHORS = _LEXICON.anchors  # words naming blood donation, with their accented form
ANCHOR_PAIRS = _LEXICON.anchor_pairs  # pairs of words naming it ("tieu cau")
STOPWORDS = _LEXICON.stopwords  # words with no topic of their own
GENERIC_WORDS = _LEXICON.generic_words  # words of the kind of question (where, when)
ACCENTED_CONTENT = _LEXICON.accented_content  # stopwords with a topic when accented ("ăn")
PLAIN_CONTENT = _LEXICON.plain_content  # stopwords with a topic even plain ("ho")
PAIR_KEEP = _LEXICON.pair_keep  # stopword pairs that ask something precise ("khi nao")


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
    """The entry that answers a question, how close it is (0–1), and the answer in the locale.

    margin is the score over the threshold it had to pass (1.0 just passing, 2.0 twice as high).
    """

    entry: FaqEntry
    score: float
    answer: str
    margin: float = 1.0


# --- text to features ----------------------------------------------------------------------------

# A number with one or two decimals ("43,5", "48.5") is one number, read as its whole part (a
# weight of 43,5 kg asks what 43 kg does); "1.000" (a thousand) is not a decimal.
_TOKEN = re.compile(r"(\d+)(?:[.,]\d{1,2}(?!\d))?|[^\W\d_]+")


@dataclass(frozen=True, slots=True)
class Token:
    """A word as typed (lower case, accents kept) and folded (no accents)."""

    folded: str
    accented: str


def _undouble(word: str) -> str:
    """Drop a doubled final consonant left by a suffix ("stopp" → "stop", "gett" → "get")."""
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouylsz":
        return word[:-1]
    return word


def _stem(word: str) -> str:
    """Strip common English endings (only applied to words typed without accents)."""
    if len(word) > 3 and word.isascii() and word.isalpha():
        if word.endswith("sses"):
            word = word[:-2]
        elif len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
            word = word[:-1]
        if len(word) > 5 and word.endswith("ing"):
            word = _undouble(word[:-3])
        elif len(word) > 4 and word.endswith("ied"):
            word = word[:-3] + "y"
        elif len(word) > 4 and word.endswith("ed"):
            word = _undouble(word[:-2])
        if len(word) > 6 and word.endswith("ation"):
            word = word[:-3]
        elif len(word) > 5 and word.endswith("ate"):
            word = word[:-1]
        elif len(word) > 6 and word.endswith("ly"):
            word = word[:-2]
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


def is_stop(token: Token) -> bool:
    """Whether a word carries no topic on its own (accents can tell: "ăn" eat is not "an")."""
    if token.folded not in STOPWORDS:
        return False
    if token.accented != token.folded:
        return token.accented not in ACCENTED_CONTENT
    return token.folded not in PLAIN_CONTENT


def _raw_tokens(text: str) -> list[Token]:
    """Words as typed: folded, shorthand expanded, units after numbers unified, English stemmed."""
    raw: list[Token] = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text[:MAX_QUERY_CHARS].lower())):
        word = match.group(1) or match.group()
        accented = ACCENTED.get(word, word)
        folded = fold(accented).replace(" ", "")
        if not folded:
            continue
        unit_ok = accented in _UNIT_SPELLINGS.get(folded, (accented,))
        if raw and raw[-1].folded.isdigit() and folded in UNITS and unit_ok:
            raw.append(Token(UNITS[folded], UNITS[folded]))
            continue
        expansion = SHORTHAND.get(folded)
        if expansion is not None:
            raw += [Token(word, word) for word in expansion.split()]
        elif folded == accented:
            stemmed = folded if folded in STOPWORDS else _stem(folded)
            raw.append(Token(stemmed, stemmed))
        else:
            raw.append(Token(folded, accented))
    return raw


def tokens(text: str) -> list[Token]:
    """Words of a text: shorthand expanded, spellings and synonyms unified, English stemmed."""
    raw = _raw_tokens(text)
    out: list[Token] = []
    i = 0
    while i < len(raw):
        for size in range(min(_LONGEST_PHRASE, len(raw) - i), 0, -1):
            canonical = _PHRASES.get(tuple(t.folded for t in raw[i : i + size]))
            if canonical is not None:
                out += [Token(word, word) for word in canonical.split()]
                i += size
                break
        else:
            out.append(raw[i])
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
    return any(
        f"{a.folded} {b.folded}" in ANCHOR_PAIRS for a, b in zip(toks, toks[1:], strict=False)
    )


def _generic_features() -> dict[str, frozenset[str]]:
    """GENERIC_WORDS as the word families see them: folded and stemmed ("w"), as typed ("aw")."""
    found = [token for word in GENERIC_WORDS for token in tokens(word)]
    return {
        "w": frozenset(t.folded for t in found),
        "aw": frozenset(t.accented for t in found),
    }


_GENERIC = _generic_features()


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
    stops = [is_stop(t) for t in toks]
    content = [t for t, stop in zip(toks, stops, strict=True) if not stop]
    for token in content:
        _add(families["w"], token.folded)
        _add(families["aw"], token.accented)
    for number, (first, second) in enumerate(zip(toks, toks[1:], strict=False)):
        if stops[number] and stops[number + 1] and (first.folded, second.folded) not in PAIR_KEEP:
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
# Accents tell đau (pain) from đâu (where), but people mix accented and plain words: an accented
# question reads the accented families and, less, the folded ones.
_ACCENTED = {
    "aw": WORD_WEIGHT * ACCENT_SHARE,
    "w": WORD_WEIGHT * (1 - ACCENT_SHARE),
    "ap": PAIR_WEIGHT * ACCENT_SHARE,
    "p": PAIR_WEIGHT * (1 - ACCENT_SHARE),
    "c": CHAR_WEIGHT,
}
_EVIDENCE_FAMILIES = ("w", "aw", "p", "ap")
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
            if entry.keywords:
                # One document for all the keywords, without pairs across two keywords.
                merged: dict[str, Counts] = {family: {} for family in FAMILIES}
                for text in entry.keywords:
                    for family, counts in features(text).items():
                        for feature, count in counts.items():
                            merged[family][feature] = merged[family].get(feature, 0.0) + count
                self._docs.append(_Doc(number, "; ".join(entry.keywords), False))
                doc_features.append(merged)
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
                    if idf[feature] < MIN_IDF:
                        continue
                    self._postings[family].setdefault(feature, []).append((number, weight))
                    total += weight * weight
                norms[family] = math.sqrt(total)
            self._norms.append(norms)
        # Each entry's centroid (the sum of its examples' unit vectors): its norm per family.
        self._centroid_norms: list[dict[str, float]] = []
        sums: list[dict[str, Counts]] = [{f: {} for f in FAMILIES} for _ in self.entries]
        for family, postings in self._postings.items():
            for feature, posting in postings.items():
                for doc_number, weight in posting:
                    target = sums[self._docs[doc_number].entry][family]
                    unit = weight / self._norms[doc_number][family]
                    target[feature] = target.get(feature, 0.0) + unit
        for entry_sums in sums:
            self._centroid_norms.append(
                {f: math.sqrt(sum(v * v for v in c.values())) for f, c in entry_sums.items()}
            )
        # Each entry's keyword phrases as word sequences; a one-word keyword only when at most
        # two entries use that word ("unsubscribe" names a topic, "tiền" money does not).
        held_by = self._entry_docs["w"]
        self._keyword_phrases: list[set[tuple[str, ...]]] = [
            {
                phrase
                for phrase in (tuple(words(text)) for text in entry.keywords)
                if len(phrase) > 1
                or (phrase and len(phrase[0]) >= 3 and len(held_by.get(phrase[0], {})) <= 2)
            }
            for entry in self.entries
        ]
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
        """Score per entry for a question (optionally leaving one example out)."""
        return self._evaluate(question, skip_doc)[0]

    def _evaluate(
        self, question: str, skip_doc: int | None = None
    ) -> tuple[dict[int, float], dict[int, int], dict[int, int]]:
        """Score per entry, how many of the question's words each entry holds, and how many of
        those are topic words (not GENERIC_WORDS).

        The score mixes the cosine with the entry's closest example and the share of the
        question's weight that the entry's vocabulary covers; a question with little weight
        (one common word) is shrunk towards zero, as it tells little.
        """
        families = features(question)
        shares = _ACCENTED if families["aw"] != families["w"] else _PLAIN
        shares_primary = ("aw",) if shares is _ACCENTED else ("w",)
        skipped = self._doc_features[skip_doc] if skip_doc is not None else None
        skip_entry = self._docs[skip_doc].entry if skip_doc is not None else -1
        doc_scores: dict[int, float] = defaultdict(float)
        coverage: dict[int, float] = defaultdict(float)
        evidence: dict[int, float] = defaultdict(float)
        matched: dict[int, int] = defaultdict(int)
        topical: dict[int, int] = defaultdict(int)
        centroid: dict[int, float] = defaultdict(float)
        for family, share in shares.items():
            idf = self._idf[family]
            unseen = self._unseen_idf[family]
            query: Counts = {}
            for feature, count in families[family].items():
                weight = (1.0 + math.log(count)) * idf.get(feature, unseen)
                if weight >= MIN_IDF:
                    query[feature] = weight
            mass = sum(w * w for w in query.values())
            if mass == 0.0:
                continue
            norm = math.sqrt(mass)
            postings = self._postings[family]
            entry_docs = self._entry_docs[family]
            partial: dict[int, float] = defaultdict(float)
            for feature, weight in query.items():
                for doc, doc_weight in postings.get(feature, ()):
                    partial[doc] += weight * doc_weight
                for entry, count in entry_docs.get(feature, {}).items():
                    if entry == skip_entry and skipped is not None and feature in skipped[family]:
                        count -= 1
                    if count > 0:
                        coverage[entry] += share * weight * weight / mass
                        if family in _EVIDENCE_FAMILIES:
                            evidence[entry] += weight * weight
                            if family in shares_primary:
                                matched[entry] += 1
                                if feature not in _GENERIC[family]:
                                    topical[entry] += 1
            for doc, dot in partial.items():
                doc_norm = self._norms[doc].get(family, 0.0)
                if doc_norm:
                    cosine = dot / (norm * doc_norm)
                    doc_scores[doc] += share * cosine
                    if doc != skip_doc:
                        entry = self._docs[doc].entry
                        centroid[entry] += share * cosine / self._centroid_norms[entry][family]
        best: dict[int, float] = {}
        for doc, score in doc_scores.items():
            if doc == skip_doc:
                continue
            meta = self._docs[doc]
            if not meta.question:
                score *= KEYWORD_DOC_WEIGHT
            if score > best.get(meta.entry, 0.0):
                best[meta.entry] = score
        scores = {
            entry: (
                EXAMPLE_WEIGHT * best.get(entry, 0.0)
                + CENTROID_WEIGHT * centroid[entry]
                + (1 - EXAMPLE_WEIGHT - CENTROID_WEIGHT) * covered
            )
            * _shrink(evidence[entry])
            for entry, covered in coverage.items()
        }
        return scores, matched, topical

    def rank(self, question: str, limit: int = 3) -> list[tuple[FaqEntry, float]]:
        """The closest entries, best first, with their scores (no threshold)."""
        scores = self._scores(question)
        order = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
        return [(self.entries[number], round(score, 6)) for number, score in order]

    def _best(self, question: str, skip_doc: int | None = None) -> tuple[int, float, bool] | None:
        """The closest entry, its score, and whether the question names blood donation.

        A question that names neither blood nor donation must share at least two words with
        the entry, or one of its keyword phrases, else it is not answered at all: one common
        word ("tiền" money, "time") tells nothing. One of the shared words must say what the
        question is about: "where" and "nearest" alone do not ("where is the nearest ATM").
        """
        scores, matched, topical = self._evaluate(question, skip_doc)
        if not scores:
            return None
        top = min(scores, key=lambda e: (-scores[e], e))
        if anchored(question):
            return top, scores[top], True
        if topical[top] < MIN_TOPIC_WORDS_UNANCHORED:
            return None
        if matched[top] < MIN_WORDS_UNANCHORED and not self._has_keyword(question, top):
            return None
        return top, scores[top], False

    def _has_keyword(self, question: str, entry: int) -> bool:
        """Whether a question contains one of an entry's keyword phrases."""
        found = words(question)
        for phrase in self._keyword_phrases[entry]:
            size = len(phrase)
            if any(tuple(found[i : i + size]) == phrase for i in range(len(found) - size + 1)):
                return True
        return False

    def match(self, question: str, locale: str = "vi") -> FaqMatch | None:
        """The entry answering a question, with the answer in the locale; None when not confident."""
        if not question or len(question) > MAX_QUERY_CHARS:
            return None
        best = self._best(question)
        if best is None:
            return None
        number, score, strong = best
        threshold = self.threshold if strong else self.threshold_unanchored
        if score < threshold:
            return None
        entry = self.entries[number]
        margin = score / threshold if threshold > 0 else math.inf
        return FaqMatch(entry, round(score, 6), entry.answer(locale), round(margin, 6))

    def _learn_thresholds(self, negatives: Iterable[str]) -> tuple[float, float]:
        """Cuts separating held-out KB questions (right entry) from the negatives.

        Each question of the knowledge base is matched with itself left out, every other one
        with its accents stripped (people type both ways); each negative both ways. The first
        cut is for anchored questions; the second, never lower and weighting a wrong answer
        more, for the others.
        """
        positives: list[tuple[float, bool]] = []
        for number, doc in enumerate(self._docs):
            if not doc.question:
                continue
            variant = doc.source if number % 2 == 0 else fold(doc.source)
            best = self._best(variant, skip_doc=number)
            if best is not None and best[0] == doc.entry:
                positives.append((best[1], best[2]))
        rejected: list[tuple[float, bool]] = []
        for text in negatives:
            for variant in dict.fromkeys((text, fold(text))):
                best = self._best(variant)
                rejected.append((best[1], best[2]) if best else (0.0, False))
        overall = learn_threshold([s for s, a in positives if a], [s for s, a in rejected if a])
        loose = learn_threshold(
            [s for s, a in positives if not a],
            [s for s, a in rejected if not a],
            UNANCHORED_NEGATIVE_WEIGHT,
        )
        return overall, max(overall, loose)


def _shrink(evidence: float) -> float:
    """How far a score is trusted given the question's matched weight (1 for strong evidence)."""
    return math.sqrt(evidence / (evidence + EVIDENCE_PRIOR)) if EVIDENCE_PRIOR > 0 else 1.0


def learn_threshold(
    positives: Sequence[float], negatives: Sequence[float], negative_weight: float = 1.0
) -> float:
    """The cut maximising (weighted) balanced accuracy (ties: the lowest), midway between scores."""
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
        value = kept + negative_weight * refused
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


# --- is it a question? ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Word:
    """A word of a message for the question test: lower case with accents, folded, capitalised."""

    accented: str
    folded: str
    capital: bool = False

    def matches(self, wanted: Word) -> bool:
        """The same word: by its accents when typed with them, else by its folded form."""
        if self.accented != self.folded:
            return self.accented == wanted.accented
        return self.folded == wanted.folded


_WORD = re.compile(r"[^\W\d_]+|\d+")


def message_words(text: str) -> list[Word]:
    """The words of a message, chat shorthand expanded ("dc" → "duoc"), case noted."""
    found: list[Word] = []
    for match in _WORD.finditer(unicodedata.normalize("NFC", text[:MAX_QUERY_CHARS])):
        typed = match.group()
        lower = typed.lower()
        folded = fold(lower).replace(" ", "")
        if not folded:
            continue
        capital = typed[0].isupper()
        expansion = SHORTHAND.get(folded) if folded == lower else None
        if expansion is not None:
            found += [Word(w, w, capital) for w in expansion.split()]
        else:
            found.append(Word(lower, folded, capital))
    return found


def _phrase(text: str) -> tuple[Word, ...]:
    """A phrase of the conversation file as words."""
    return tuple(Word(w.accented, w.folded) for w in message_words(text))


@dataclass(frozen=True, slots=True)
class QuestionWords:
    """locales/faq/_conversation.toml [questions], parsed."""

    phrases: tuple[tuple[Word, ...], ...]
    leading: tuple[tuple[Word, ...], ...]
    accented_phrases: tuple[tuple[Word, ...], ...]
    leading_min_words: int
    accented_words: frozenset[str]
    yes_no_open: tuple[tuple[Word, ...], ...]
    yes_no_end: tuple[tuple[Word, ...], ...]
    yes_no_min_words: int
    never_phrase: tuple[Word, ...]
    never_before: tuple[tuple[Word, ...], ...]
    place_words: tuple[tuple[Word, ...], ...]
    faq_margin: float
    faq_min_words: int


def load_conversation(directory: Path = FAQ_DIR) -> dict[str, Any]:
    """The conversation file (question words, small talk) as parsed TOML."""
    with (directory / CONVERSATION_FILE).open("rb") as fh:
        return tomllib.load(fh)


@cache
def question_words() -> QuestionWords:
    """The question words of locales/faq, read once."""
    raw = load_conversation()["questions"]

    def phrases(key: str) -> tuple[tuple[Word, ...], ...]:
        return tuple(p for p in (_phrase(str(t)) for t in raw[key]) if p)

    return QuestionWords(
        phrases=phrases("phrases"),
        leading=phrases("leading"),
        accented_phrases=phrases("accented_phrases"),
        leading_min_words=int(raw["leading_min_words"]),
        accented_words=frozenset(str(w) for w in raw["accented_words"]),
        yes_no_open=phrases("yes_no_open"),
        yes_no_end=phrases("yes_no_end"),
        yes_no_min_words=int(raw["yes_no_min_words"]),
        never_phrase=_phrase(str(raw["never_phrase"])),
        never_before=phrases("never_before"),
        place_words=phrases("place_words"),
        faq_margin=float(raw["faq_margin"]),
        faq_min_words=int(raw["faq_min_words"]),
    )


def _at(words: Sequence[Word], start: int, phrase: Sequence[Word]) -> bool:
    """Whether a phrase is typed at a position."""
    end = start + len(phrase)
    return end <= len(words) and all(
        w.matches(p) for w, p in zip(words[start:end], phrase, strict=True)
    )


def _in_name(words: Sequence[Word], start: int, size: int) -> bool:
    """Whether words are capitalised among capitalised neighbours: part of a name or a place
    ("Trần Sao Mai", "Phường La Gi"), not a question."""
    end = start + size
    if not all(w.capital for w in words[start:end]):
        return False
    before = start > 0 and words[start - 1].capital
    after = end < len(words) and words[end].capital
    return before or after


def _typed_with_accents(words: Sequence[Word], start: int, phrase: Sequence[Word]) -> bool:
    """Whether a phrase found at a position was typed with its diacritics ("sao" has none: then
    the rest of the message must show them)."""
    if any(p.accented != p.folded for p in phrase):
        return any(w.accented != w.folded for w in words[start : start + len(phrase)])
    return any(w.accented != w.folded for w in words)


def _asks(words: Sequence[Word], table: QuestionWords, place: bool) -> bool:
    """Whether the words hold a question phrase, word or frame (not inside a name). After a place
    word every phrase must be typed with its diacritics ("phuong la gi" is a ward)."""
    for start in range(len(words)):
        candidates = [(phrase, place) for phrase in table.phrases]
        candidates += [(phrase, True) for phrase in table.accented_phrases]
        if start == 0 and len(words) >= table.leading_min_words:
            candidates += [(phrase, True) for phrase in table.leading]
        for phrase, needs_accents in candidates:
            if not _at(words, start, phrase) or _in_name(words, start, len(phrase)):
                continue
            if needs_accents and not _typed_with_accents(words, start, phrase):
                continue
            if phrase == table.never_phrase and _means_never(words, start, table):
                continue
            return True
        word = words[start]
        if word.accented in table.accented_words and not word.capital:
            return True
    if len(words) >= table.yes_no_min_words:
        closes = any(_at(words, len(words) - len(p), p) for p in table.yes_no_end)
        opens = any(_at(words, i, p) for i in range(len(words) - 1) for p in table.yes_no_open)
        return closes and opens
    return False


def _means_never(words: Sequence[Word], start: int, table: QuestionWords) -> bool:
    """ "bao giờ" after "chưa"/"không" ("chưa bao giờ"), or ending a sentence that has one
    ("chưa hiến bao giờ"), says never, not when."""

    def negation_at(i: int) -> bool:
        return any(_at(words, i, p) for p in table.never_before)

    if start > 0 and negation_at(start - 1):
        return True
    ends = start + len(table.never_phrase) == len(words)
    return ends and any(negation_at(i) for i in range(start))


def looks_like_question(text: str, locale: str = "vi") -> bool:
    """Whether a message is clearly a question (or an objection the FAQ answers) rather than an
    answer: a question mark, a question word or phrase with or without diacritics ("bao lâu",
    "tại sao", "được không", "why", "can I"), a "có … không" frame, or a confident FAQ match
    of a sentence (four words or more, no digits, not a place). Names ("Trần Sao Mai"), places
    ("Xã Ba Sao"), dates, phones, numbers and a bare "có" / "không" are answers.
    """
    stripped = text.strip()
    if not stripped:
        return False
    if "?" in stripped or "？" in stripped:
        return True
    words = message_words(stripped)
    if not words:
        return False
    if stripped.isupper():
        # Shouted text tells nothing by its capitals.
        words = [Word(w.accented, w.folded) for w in words]
    table = question_words()
    place = any(_at(words, 0, p) for p in table.place_words)
    if _asks(words, table, place):
        return True
    if place or len(words) < table.faq_min_words or any(ch.isdigit() for ch in stripped):
        return False
    if all(w.capital for w in words):
        return False  # a name or a title
    if any(
        _at(words, i, table.never_phrase) and _means_never(words, i, table)
        for i in range(len(words))
    ):
        return False  # "chưa hiến máu bao giờ" answers the last-donation step
    found = match(stripped, locale)
    return found is not None and found.margin >= table.faq_margin
