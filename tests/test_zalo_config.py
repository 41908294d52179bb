"""The Zalo settings (issue 12): off by default, and a bad value refused with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.config import Settings, SettingsError, load_settings

NAMES = ("ZALO_BOT_TOKEN", "ZALO_API_BASE_URL", "ZALO_WEBHOOK_SECRET", "ZALO_WEBHOOK_URL")
SECRET = "zK3vQ0_-ZrXw8yT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0w"
ZALO_TOKEN = "1459232241454765289:Zk3vQ9rT2mN5pL7s"
TELEGRAM_TOKEN = "123456789:AAHtestTokenForTheFakeBotApiServer00"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)


def test_zalo_is_off_by_default() -> None:
    settings = load_settings()
    assert settings.zalo_bot_token is None and not settings.zalo_enabled
    assert settings.zalo_api_base_url is None and settings.zalo_webhook_secret is None


def test_empty_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.setenv(name, "  ")
    settings = load_settings()
    assert not settings.zalo_enabled and settings.zalo_webhook_secret is None


def test_the_three_settings_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZALO_BOT_TOKEN", " 1459232241454765289:Zk3vQ9rT2mN5pL7s ")
    monkeypatch.setenv("ZALO_API_BASE_URL", "http://127.0.0.1:8081")
    monkeypatch.setenv("ZALO_WEBHOOK_SECRET", SECRET)
    settings = load_settings()
    assert settings.zalo_enabled
    assert settings.zalo_bot_token == "1459232241454765289:Zk3vQ9rT2mN5pL7s"
    assert settings.zalo_api_base_url == "http://127.0.0.1:8081"
    assert settings.zalo_webhook_secret == SECRET


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("ZALO_BOT_TOKEN", "not-a-token", "Zalo bot token"),
        ("ZALO_BOT_TOKEN", "12345:short", "Zalo bot token"),
        ("ZALO_API_BASE_URL", "bot-api.zaloplatforms.com", "http"),
        ("ZALO_WEBHOOK_SECRET", "short-secret", "32 to 256"),
        ("ZALO_WEBHOOK_SECRET", SECRET[:31] + "!", "32 to 256"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert name in str(refused.value) and said in str(refused.value)
    if name != "ZALO_API_BASE_URL":  # a token or secret is never echoed back
        assert value not in str(refused.value)


# ---------------------------------------------------------------- webhook mode with Zalo


def settings(**values: str) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_zalos_webhook_url_defaults_to_the_telegram_webhooks_origin() -> None:
    both = settings(
        telegram_bot_token=TELEGRAM_TOKEN,
        webhook_url="https://bot.example.org:8443/telegram",
        webhook_secret=SECRET,
        zalo_bot_token=ZALO_TOKEN,
        zalo_webhook_secret=SECRET,
    )
    both.check_webhook_mode()
    assert both.require_zalo_webhook() == ("https://bot.example.org:8443/zalo", SECRET)
    own = settings(
        zalo_bot_token=ZALO_TOKEN,
        zalo_webhook_secret=SECRET,
        zalo_webhook_url="https://zalo.example.org/hook",
    )
    own.check_webhook_mode()  # Zalo alone needs no Telegram token
    assert own.require_zalo_webhook() == ("https://zalo.example.org/hook", SECRET)


def test_webhook_mode_says_what_zalo_lacks() -> None:
    with pytest.raises(
        SettingsError, match="ZALO_WEBHOOK_URL .or WEBHOOK_URL., ZALO_WEBHOOK_SECRET"
    ):
        settings(zalo_bot_token=ZALO_TOKEN).check_webhook_mode()
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN"):
        settings().check_webhook_mode()


@pytest.mark.parametrize(
    "url",
    ["http://bot.example.org/zalo", "ftp://bot.example.org/zalo", "https:///zalo"],
)
def test_zalo_posts_to_https_only(url: str) -> None:
    with pytest.raises(ValueError):
        settings(zalo_webhook_url=url)


def test_plain_http_only_to_this_machine() -> None:
    assert settings(zalo_webhook_url="http://127.0.0.1:8080/zalo").zalo_webhook_url
