"""Settings: defaults, parsing, and a clear refusal of bad values."""

from __future__ import annotations

import pytest

from services.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "DATABASE_URL",
        "ADMIN_TELEGRAM_IDS",
        "TIMEZONE",
        "DEFAULT_LOCALE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings()
    assert settings.telegram_bot_token is None
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.timezone == "Asia/Ho_Chi_Minh" and settings.default_locale == "vi"
    assert settings.admin_telegram_ids == []


def test_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_TELEGRAM_IDS", "123, 456 789")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456789:AAHabcdefghijklmnopqrstuvwxyz012345")
    settings = load_settings()
    assert settings.admin_telegram_ids == [123, 456, 789]
    assert settings.database_url == "postgresql+asyncpg://u@localhost/db"


def test_dotenv_file(tmp_path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_LOCALE=en\n", encoding="utf-8")
    assert load_settings().default_locale == "en"


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("TIMEZONE", "Asia/Hanoi_City", "TIMEZONE"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE"),
        ("ADMIN_TELEGRAM_IDS", "alice,bob", "ADMIN_TELEGRAM_IDS"),
        ("TELEGRAM_BOT_TOKEN", "not-a-token", "TELEGRAM_BOT_TOKEN"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "TELEGRAM_API_BASE_URL"),
    ],
)
def test_bad_values_are_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert fragment in str(info.value)


def test_eligibility_rules_preset() -> None:
    from services.config import Settings

    assert Settings(eligibility_rules="nihbt").rule_options.platelet_interval_days == 21
    assert Settings().rule_options.platelet_interval_days == 14
    with pytest.raises(ValueError, match="eligibility_rules|must be one of"):
        Settings(eligibility_rules="strictest")


def test_telegram_max_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_MAX_RATE", raising=False)
    assert load_settings().telegram_max_rate == 30  # Telegram's free limit
    monkeypatch.setenv("TELEGRAM_MAX_RATE", "1000")  # paid broadcasts
    assert load_settings().telegram_max_rate == 1000
    for bad in ("0", "1001", "fast"):
        monkeypatch.setenv("TELEGRAM_MAX_RATE", bad)
        with pytest.raises(SettingsError, match="TELEGRAM_MAX_RATE"):
            load_settings()
