"""Settings read from the environment and a .env file; a bad value stops the start with a clear message."""

from __future__ import annotations

import os
import re
import secrets
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from services.eligibility.rules import RuleOptions

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("vi", "en")
_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
# Telegram takes 1-256 characters of A-Za-z0-9_- as a webhook's secret; we ask for at least 32.
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{32,256}$")
# The ports Telegram delivers webhooks to.
WEBHOOK_PORTS = (443, 80, 88, 8443)
# A Zalo Bot Platform token is "<bot id>:<secret>" (the Zalo Bot Creator shows it).
_ZALO_TOKEN = re.compile(r"^\d{3,}:\S{8,}$")


class Settings(BaseSettings):
    """Everything the bot can be configured with (see .env.example)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: str | None = None
    telegram_api_base_url: str | None = None
    # Messages a second the bot may send in all, replies and broadcasts together (one budget per
    # bot token). Telegram allows 30; a bot paying for paid broadcasts may be allowed up to 1000.
    telegram_max_rate: int = Field(default=30, ge=1, le=1000)
    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'data' / 'hienmau.db'}"
    admin_telegram_ids: Annotated[list[int], NoDecode] = []
    timezone: str = "Asia/Ho_Chi_Minh"
    default_locale: str = "vi"
    organization_name: str = "Ban Chỉ đạo vận động hiến máu tình nguyện"
    # Non-urgent broadcasts sent in these local hours wait for the morning.
    quiet_hours_start: int = Field(default=21, ge=0, le=23)
    quiet_hours_end: int = Field(default=7, ge=0, le=23)
    log_level: str = "INFO"
    # "console": readable lines; "json": one JSON object a line, for a log collector.
    log_format: Literal["console", "json"] = "console"
    # Eligibility rules: "default" (locales/rules/eligibility.toml [defaults]), or a preset:
    # "law" (Thông tư 26/2013 alone), "nihbt" (21 days after platelets), "giot_mau_vang" (45 kg).
    eligibility_rules: str = "default"
    # The key of the pseudonyms that replace a forgotten person's id in the audit trail. Unset:
    # a random key kept in data/pseudonym.key (set it when several machines share a database).
    pseudonym_key: str | None = None
    # A /stats export of more rows than this is built by the scheduler and sent when ready.
    export_inline_rows: int = Field(default=2000, ge=0, le=100_000)
    # Webhook mode (bot.py --webhook): the public https URL Telegram posts updates to (a reverse
    # proxy in front terminates TLS and forwards to WEBHOOK_LISTEN), the secret Telegram sends
    # back in a header with every update, and where this process listens.
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8080"
    # Zalo (issue 12), off unless ZALO_BOT_TOKEN is set: the Zalo Bot Platform's token, another
    # API server (a test server; default Zalo's), and the secret Zalo sends back with every
    # webhook event (X-Bot-Api-Secret-Token).
    zalo_bot_token: str | None = None
    zalo_api_base_url: str | None = None
    zalo_webhook_secret: str | None = None
    # Where Zalo posts events in webhook mode (https); unset: WEBHOOK_URL's origin + /zalo.
    zalo_webhook_url: str | None = None

    @field_validator(
        "telegram_bot_token",
        "telegram_api_base_url",
        "pseudonym_key",
        "webhook_url",
        "webhook_secret",
        "zalo_bot_token",
        "zalo_api_base_url",
        "zalo_webhook_secret",
        "zalo_webhook_url",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        """Treat an empty variable as unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str | None) -> str | None:
        """A token looks like 123456789:AA…; anything else would only fail later at Telegram."""
        if value is not None and not _TOKEN.match(value.strip()):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return value.strip() if value else value

    @field_validator("zalo_bot_token")
    @classmethod
    def _zalo_token_shape(cls, value: str | None) -> str | None:
        """A Zalo bot token looks like 1459232241454765289:…; anything else fails at Zalo."""
        if value is not None and not _ZALO_TOKEN.match(value.strip()):
            raise ValueError("does not look like a Zalo bot token (digits:secret)")
        return value.strip() if value else value

    @field_validator("telegram_api_base_url", "zalo_api_base_url")
    @classmethod
    def _base_url_shape(cls, value: str | None) -> str | None:
        """The Bot API base URL must be http(s)."""
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url_shape(cls, value: str | None) -> str | None:
        """Telegram posts only to https, on ports 443, 80, 88 or 8443."""
        if value is None:
            return None
        url = urlsplit(value.strip())
        if url.scheme != "https" or not url.hostname:
            raise ValueError("must be a public https:// URL, e.g. https://bot.example.org/telegram")
        try:
            port = url.port or 443
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        if port not in WEBHOOK_PORTS:
            raise ValueError(
                f"port {port}: Telegram delivers only to ports "
                + ", ".join(str(p) for p in WEBHOOK_PORTS)
            )
        return value.strip()

    @field_validator("zalo_webhook_url")
    @classmethod
    def _zalo_webhook_url_shape(cls, value: str | None) -> str | None:
        """Zalo posts to https; plain http only to this machine (a local test platform)."""
        if value is None:
            return None
        url = urlsplit(value.strip())
        local = url.scheme == "http" and url.hostname in ("127.0.0.1", "localhost", "::1")
        if not (url.scheme == "https" or local) or not url.hostname:
            raise ValueError("must be a public https:// URL, e.g. https://bot.example.org/zalo")
        return value.strip()

    @field_validator("webhook_secret", "zalo_webhook_secret")
    @classmethod
    def _webhook_secret_shape(cls, value: str | None) -> str | None:
        """32 to 256 characters of A-Za-z0-9_- (Telegram's alphabet, within Zalo's 8 to 256
        characters; long enough not to guess)."""
        if value is not None and not _WEBHOOK_SECRET.match(value.strip()):
            raise ValueError(
                "must be 32 to 256 characters of A-Z, a-z, 0-9, _ and - "
                '(make one with: python -c "import secrets; print(secrets.token_urlsafe(32))")'
            )
        return value.strip() if value else value

    @field_validator("webhook_listen")
    @classmethod
    def _listen_shape(cls, value: str) -> str:
        """host:port (an IPv6 host in brackets: [::1]:8080)."""
        _split_listen(value)
        return value.strip()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Only the async drivers are supported; plain URLs are upgraded to them."""
        if value.startswith(("postgres://", "postgresql://")):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must be sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
            )
        return value

    @field_validator("admin_telegram_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        """Accept "1, 2 3" as well as a list."""
        if isinstance(value, str):
            parts = [p for p in re.split(r"[,\s]+", value.strip()) if p]
            try:
                return [int(p) for p in parts]
            except ValueError:
                raise ValueError(
                    "must be Telegram user ids (numbers) separated by commas"
                ) from None
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        """The time zone must exist in the tz database."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (expected e.g. Asia/Ho_Chi_Minh)"
            ) from None
        return value

    @field_validator("default_locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        """Only the languages with a catalog."""
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator("eligibility_rules")
    @classmethod
    def _known_rules(cls, value: str) -> str:
        """The defaults or a preset of the rules file."""
        allowed = ("default", *RuleOptions.preset_names())
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    @property
    def rule_options(self) -> RuleOptions:
        """The eligibility options in force."""
        if self.eligibility_rules == "default":
            return RuleOptions()
        return RuleOptions.preset(self.eligibility_rules)

    @property
    def quiet_hours(self) -> tuple[time, time]:
        """Quiet hours as local times (start, end)."""
        return time(self.quiet_hours_start), time(self.quiet_hours_end)

    @property
    def admin_ids(self) -> frozenset[str]:
        """Administrators' Telegram ids as the chat service compares them."""
        return frozenset(str(i) for i in self.admin_telegram_ids)

    @property
    def pseudonym_secret(self) -> bytes:
        """PSEUDONYM_KEY, or the key file made on first use (readable by this user only)."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        return _key_file(ROOT / "data" / "pseudonym.key")

    @property
    def tz(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    @property
    def zalo_enabled(self) -> bool:
        """Whether the Zalo channel runs (its token is set)."""
        return self.zalo_bot_token is not None

    @property
    def listen_address(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN as (host, port)."""
        return _split_listen(self.webhook_listen)

    def require_webhook(self) -> tuple[str, str]:
        """(WEBHOOK_URL, WEBHOOK_SECRET), or SettingsError naming what webhook mode lacks."""
        missing = [
            name
            for name, value in (
                ("TELEGRAM_BOT_TOKEN", self.telegram_bot_token),
                ("WEBHOOK_URL", self.webhook_url),
                ("WEBHOOK_SECRET", self.webhook_secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                "Webhook mode (--webhook) needs "
                + ", ".join(missing)
                + " (see .env.example). A secret: "
                + 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        assert self.webhook_url and self.webhook_secret
        return self.webhook_url, self.webhook_secret

    def require_zalo_webhook(self) -> tuple[str, str]:
        """(the URL Zalo posts to, ZALO_WEBHOOK_SECRET), or SettingsError naming what is missing.
        The URL is ZALO_WEBHOOK_URL, else WEBHOOK_URL's origin with the path /zalo."""
        url = self.zalo_webhook_url
        if url is None and self.webhook_url is not None:
            parts = urlsplit(self.webhook_url)
            url = f"{parts.scheme}://{parts.netloc}/zalo"
        missing = [
            name
            for name, value in (
                ("ZALO_WEBHOOK_URL (or WEBHOOK_URL)", url),
                ("ZALO_WEBHOOK_SECRET", self.zalo_webhook_secret),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                "Zalo in webhook mode (--webhook) needs "
                + ", ".join(missing)
                + " (see .env.example). A secret: "
                + 'python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        assert url and self.zalo_webhook_secret
        return url, self.zalo_webhook_secret

    def check_webhook_mode(self) -> None:
        """Webhook mode has what each channel that runs needs (SettingsError otherwise)."""
        if not self.telegram_bot_token and not self.zalo_enabled:
            raise SettingsError(
                "Webhook mode (--webhook) needs TELEGRAM_BOT_TOKEN or ZALO_BOT_TOKEN"
            )
        if self.telegram_bot_token:
            self.require_webhook()
        if self.zalo_enabled:
            self.require_zalo_webhook()


def _split_listen(value: str) -> tuple[str, int]:
    """ "127.0.0.1:8080" → ("127.0.0.1", 8080); "[::1]:8080" → ("::1", 8080)."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8080")
    return host, int(port)


def _key_file(path: Path) -> bytes:
    """Read the key, or create it: 32 random bytes, hex, mode 600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class SettingsError(Exception):
    """The configuration is invalid; the message says which variable and why."""


def load_settings() -> Settings:
    """Read the settings, turning pydantic's errors into one readable message."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = ["Invalid configuration (environment or .env):"]
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper() or "?"
            lines.append(f"  {name}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return load_settings()
