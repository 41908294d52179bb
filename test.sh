#!/usr/bin/env bash
# Set up (first time) and run the whole test suite. PostgreSQL too when TEST_DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh dev
exec .venv/bin/python -m pytest "$@"
