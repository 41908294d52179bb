"""FAQ matcher benchmark on held-out questions: top-1 accuracy, off-topic rejection, latency.

Run from the repository root: python bench/faq_accuracy.py [-v] [--data main|fresh|both|PATH]
Two held-out sets: bench/data/faq_heldout.toml (the main figure, which sets the exit code) and
bench/data/faq_heldout_fresh.toml (written before tuning and never tuned against; reported beside
it so that overfitting shows). Exits non-zero when top-1 accuracy on the main set's in-scope
questions is below 90 % or fewer than 95 % of its off-topic messages are answered "I don't know".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.knowledge.faq import FaqIndex  # noqa: E402

DATA = ROOT / "bench" / "data" / "faq_heldout.toml"
FRESH = ROOT / "bench" / "data" / "faq_heldout_fresh.toml"
GOAL_IN_SCOPE = 0.90
GOAL_OFF_TOPIC = 0.95


@dataclass(frozen=True, slots=True)
class Case:
    """One held-out question and the entry that should answer it (None: off-topic)."""

    question: str
    expected: str | None
    group: str


@dataclass(frozen=True, slots=True)
class Result:
    """The figures of one held-out set."""

    name: str
    in_scope: float
    off_topic: float
    unknown_ids: tuple[str, ...]


def has_diacritics(text: str) -> bool:
    """Whether Vietnamese text keeps its accents (folding changes its letters)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    return "đ" in decomposed or any(unicodedata.combining(ch) for ch in decomposed)


def load_cases(path: Path = DATA) -> list[Case]:
    """The held-out questions with their group: vi with / without diacritics, en, off-topic."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    cases = []
    for item in data["in_scope"]:
        if item["lang"] == "en":
            group = "en"
        else:
            group = "vi_diacritics" if has_diacritics(item["q"]) else "vi_plain"
        cases.append(Case(item["q"], item["id"], group))
    cases += [Case(text, None, "off_topic") for text in data["off_topic"]]
    return cases


def run(index: FaqIndex, path: Path, verbose: bool) -> Result:
    """Match every question of one held-out file against the index and print its table."""
    known = {entry.id for entry in index.entries}
    cases = load_cases(path)
    unknown = tuple(sorted({c.expected for c in cases if c.expected and c.expected not in known}))
    name = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    if unknown:
        print(f"{name}: held-out ids missing from the knowledge base: {list(unknown)}")
        return Result(str(name), 0.0, 0.0, unknown)

    latencies: list[float] = []
    hits: dict[str, list[bool]] = {}
    misses: list[str] = []
    for case in cases:
        t0 = time.perf_counter()
        found = index.match(case.question, "vi")
        latencies.append((time.perf_counter() - t0) * 1000)
        got = found.entry.id if found else None
        ok = got == case.expected
        hits.setdefault(case.group, []).append(ok)
        if not ok:
            best = index.rank(case.question, 1)
            near = f"{best[0][0].id} {best[0][1]:.3f}" if best else "-"
            misses.append(
                f"  [{case.group}] {case.question!r}: want {case.expected}, got {got} ({near})"
            )

    def rate(groups: tuple[str, ...]) -> tuple[float, int, int]:
        results = [ok for g in groups for ok in hits.get(g, [])]
        return (sum(results) / len(results) if results else 0.0), sum(results), len(results)

    in_scope = rate(("vi_diacritics", "vi_plain", "en"))
    off_topic = rate(("off_topic",))
    rows = [
        ("in-scope top-1, overall", in_scope),
        ("  Vietnamese with diacritics", rate(("vi_diacritics",))),
        ("  Vietnamese without diacritics", rate(("vi_plain",))),
        ("  English", rate(("en",))),
        ('off-topic answered "I don\'t know"', off_topic),
    ]
    ordered = sorted(latencies)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))) - 1)]
    print(f"held-out set: {name}")
    print(f"{'measure':<36} {'value':>8} {'n':>9}")
    print("-" * 55)
    for label, (value, good, total) in rows:
        print(f"{label:<36} {value:>7.1%} {good:>4}/{total:<4}")
    print(f"{'latency mean':<36} {statistics.fmean(latencies):>6.2f} ms")
    print(f"{'latency p95':<36} {p95:>6.2f} ms")
    if verbose and misses:
        print("misses:")
        print("\n".join(misses))
    return Result(str(name), in_scope[0], off_topic[0], ())


def main() -> int:
    """Run the benchmark, print the tables, return the exit code (goals on the main set)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    parser.add_argument(
        "--data",
        default="both",
        help="main, fresh, both (default) or the path of a held-out TOML file; "
        "the goals are checked on the first set run",
    )
    args = parser.parse_args()
    choices = {"main": [DATA], "fresh": [FRESH], "both": [DATA, FRESH]}
    paths = choices.get(args.data, [Path(args.data).resolve()])

    started = time.perf_counter()
    index = FaqIndex.load()
    build_ms = (time.perf_counter() - started) * 1000
    index.match("warm up", "vi")
    print(
        f"FAQ benchmark: {len(index.entries)} entries, thresholds {index.threshold:.3f} "
        f"(names donation) / {index.threshold_unanchored:.3f} (other), "
        f"built in {build_ms:.0f} ms"
    )
    results = []
    for number, path in enumerate(paths):
        if number:
            print()
        results.append(run(index, path, args.verbose))

    main_result = results[0]
    if main_result.unknown_ids:
        return 2
    failed = []
    if main_result.in_scope < GOAL_IN_SCOPE:
        failed.append(f"in-scope top-1 {main_result.in_scope:.1%} < {GOAL_IN_SCOPE:.0%}")
    if main_result.off_topic < GOAL_OFF_TOPIC:
        failed.append(f"off-topic rejection {main_result.off_topic:.1%} < {GOAL_OFF_TOPIC:.0%}")
    print()
    if failed:
        print(f"FAIL ({main_result.name}): " + "; ".join(failed))
        return 1
    print(f"OK ({main_result.name}): goals met (in-scope ≥ 90 %, off-topic ≥ 95 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
