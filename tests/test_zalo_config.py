"""The Zalo settings (issue 12): off by default, and a bad value refused with its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.config import SettingsError, load_settings

NAMES = ("ZALO_BOT_TOKEN", "ZALO_API_BASE_URL", "ZALO_WEBHOOK_SECRET")
SECRET = "zK3vQ0_-ZrXw8yT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0w"


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
