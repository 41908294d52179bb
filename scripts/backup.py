"""Back the database up to one file, or restore it from one (docs/deployment.md).

    .venv/bin/python scripts/backup.py backup  backups/hienmau-$(date +%F).dump
    .venv/bin/python scripts/backup.py restore backups/hienmau-2027-03-01.dump

The database is the configured one (DATABASE_URL, from the environment or .env). PostgreSQL:
`pg_dump --format=custom` (consistent while the bot runs) and `pg_restore --clean`, so the
PostgreSQL client tools must be installed. SQLite: SQLite's online backup, page by page, also
consistent while the bot runs. Restore into a stopped bot: it replaces everything.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.config import load_settings  # noqa: E402


def libpq_url(database_url: str) -> str:
    """postgresql+asyncpg://… as the PostgreSQL tools take it (postgresql://…)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_path(database_url: str) -> Path:
    """The file of a sqlite+aiosqlite:///… URL."""
    database = make_url(database_url).database
    if not database:
        raise SystemExit("DATABASE_URL names no SQLite file")
    return Path(database)


def backup(database_url: str, target: Path) -> None:
    """Write the whole database to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if database_url.startswith("postgresql"):
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                f"--file={target}",
                libpq_url(database_url),
            ],
            check=True,
        )
        return
    with sqlite3.connect(sqlite_path(database_url)) as source, sqlite3.connect(target) as copy:
        source.backup(copy)


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup in `source`."""
    if not source.is_file():
        raise SystemExit(f"No backup at {source}")
    if database_url.startswith("postgresql"):
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--exit-on-error",
                f"--dbname={libpq_url(database_url)}",
                str(source),
            ],
            check=True,
        )
        return
    target = sqlite_path(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(source) as backup_file, sqlite3.connect(target) as database:
        backup_file.backup(database)


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("action", choices=("backup", "restore"))
    parser.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    url = load_settings().database_url
    if args.action == "backup":
        backup(url, args.file)
        print(f"Backed up to {args.file}")
    else:
        restore(url, args.file)
        print(f"Restored from {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
