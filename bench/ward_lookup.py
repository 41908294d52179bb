"""How long an old address takes to read: the package's converter against our compact index.

    .venv/bin/python bench/ward_lookup.py            # [--repeat 200]

Prints the import and per-query time of `vietnamadminunits.convert_address` (in a fresh process,
addresses without a street: with one it geocodes over the network, which we never do), the build
time and memory of services/old_addresses.py's index (also in a fresh process), and per-query
times of `read_old_address` (old units only) and `look_up_ward` (what the ward step calls: today's
search plus the old reading). No network is used.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = [
    "phường Bến Nghé, quận 1",
    "phuong 1 quan 3",
    "Văn Quán, Hà Đông, Hà Nội",
    "Ha Dong ward, Hanoi",
    "Phường Đa Kao, Quận 1",
    "quận 1",
    "phuong sai gon",
    "xyzzy qwerty",
]

PACKAGE_CODE = """
import json, sys, time, tracemalloc
tracemalloc.start()
t = time.perf_counter()
import vietnamadminunits
imported = time.perf_counter() - t
memory = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
times = {}
for query in json.loads(sys.argv[1]):
    runs = []
    for _ in range(int(sys.argv[2])):
        t = time.perf_counter()
        try:
            vietnamadminunits.convert_address(query)
        except Exception:
            pass
        runs.append(time.perf_counter() - t)
    times[query] = runs
heavy = sorted(m for m in ("shapely", "geopy", "pandas") if m in sys.modules)
print(json.dumps({"import": imported, "memory": memory, "times": times, "heavy": heavy}))
"""

INDEX_CODE = """
import json, time, tracemalloc
from services.knowledge import wards
t = time.perf_counter()
wards._data()
wards_json = time.perf_counter() - t
from services.knowledge import old_addresses
t = time.perf_counter()
old_addresses._index()
build = time.perf_counter() - t
old_addresses._loaded = None  # again, under tracemalloc (slower) for the memory it keeps
tracemalloc.start()
old_addresses._index()
retained = tracemalloc.get_traced_memory()[0]
tracemalloc.stop()
print(json.dumps({"wards_json": wards_json, "build": build, "memory": retained}))
"""


def run(code: str, *args: str) -> dict[str, Any]:
    """Run code in a fresh interpreter (cold imports) and read its JSON line."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()

    from services.knowledge.old_addresses import look_up_ward, read_old_address

    package = run(PACKAGE_CODE, json.dumps(QUERIES), str(max(1, args.repeat // 10)))
    index = run(INDEX_CODE)
    look_up_ward("warm up")  # builds the index in this process

    print("one-time costs")
    print(
        f"  import vietnamadminunits         {ms(package['import'])} ms   "
        f"{package['memory'] / 1e6:6.1f} MB   pulls in {', '.join(package['heavy']) or '-'}"
    )
    print(f"  load data/wards.json             {ms(index['wards_json'])} ms")
    print(
        f"  build old-address index          {ms(index['build'])} ms   "
        f"{index['memory'] / 1e6:6.1f} MB retained"
    )
    print()
    print(f"per query, median / p95 in ms ({args.repeat} runs; package: {args.repeat // 10})")
    header = f"  {'query':32} {'convert_address':>17} {'read_old_address':>18} {'look_up_ward':>15}"
    print(header)
    for query in QUERIES:
        cells = []
        for runs in (
            package["times"][query],
            timed(read_old_address, query, args.repeat),
            timed(look_up_ward, query, args.repeat),
        ):
            ordered = sorted(runs)
            p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
            cells.append(f"{statistics.median(runs) * 1000:6.2f} / {p95 * 1000:6.2f}")
        print(f"  {query:32} {cells[0]:>17} {cells[1]:>18} {cells[2]:>15}")


def timed(function: Callable[[str], object], query: str, repeat: int) -> list[float]:
    """Wall time of each call."""
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(query)
        runs.append(time.perf_counter() - start)
    return runs


if __name__ == "__main__":
    main()
