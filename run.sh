#!/usr/bin/env bash
# Set up (first time) and run the bot. Without TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN it starts the
# console mode.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
exec .venv/bin/python bot.py "$@"
