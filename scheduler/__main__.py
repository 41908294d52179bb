"""python -m scheduler: only the clock (the outbox sender and the sweeps), through bot.py's runtime."""

from __future__ import annotations

import sys

from bot import main

if __name__ == "__main__":
    sys.exit(main(["--sender", *sys.argv[1:]]))
