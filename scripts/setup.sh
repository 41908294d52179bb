#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the project (with the test tools when given "dev").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY=$candidate; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "Python 3.11 is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extra=""
[ "${1:-}" = "dev" ] && extra="[dev]"
stamp=".venv/.installed$extra"
up_to_date() { [ -f "$1" ] && [ ! pyproject.toml -nt "$1" ]; }
# The test tools include everything the bot needs: ./run.sh after ./test.sh installs nothing.
if ! up_to_date "$stamp" && { [ -n "$extra" ] || ! up_to_date ".venv/.installed[dev]"; }; then
  echo "Installing the dependencies into .venv (a minute the first time)…" >&2
  # -qq: pip's errors only; its warnings and the build backend's banners (such as setuptools'
  # "Editable installation" notice, printed for every editable install) would bury them.
  .venv/bin/python -m pip install -qq --upgrade pip
  .venv/bin/python -m pip install -qq -e ".$extra"
  touch "$stamp"
fi
