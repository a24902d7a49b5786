"""Configuration from the environment and `.env`, validated before anything starts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SANDBOX_TOKEN = "1000000001:SANDBOX-profbot-local-emulator"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/profbot.sqlite3"
SANDBOX_DATABASE_URL = "sqlite+aiosqlite:///./data/sandbox.sqlite3"


class Settings(BaseSettings):
    """Every setting the bot reads; `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = Field(default=None, alias="BOT_TOKEN")
    telegram_api_url: AnyHttpUrl = Field(
        default=AnyHttpUrl("https://api.telegram.org"), alias="TELEGRAM_API_URL"
    )
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list, alias="ADMIN_IDS")
    timezone: str = Field(default="Europe/Moscow", alias="TIMEZONE")
    redis_url: str | None = Field(default=None, alias="REDIS_URL")
    default_locale: str = Field(default="ru", alias="DEFAULT_LOCALE")
    sandbox_port: int = Field(default=8081, ge=1, le=65535, alias="SANDBOX_PORT")
    outbox_rate: float = Field(default=30.0, gt=0, le=1000, alias="OUTBOX_RATE")
    paid_broadcast: bool = Field(default=False, alias="PAID_BROADCAST")
    outbox_paid_rate: float = Field(default=1000.0, gt=0, le=1000, alias="OUTBOX_PAID_RATE")
    outbox_interval: float = Field(default=1.0, gt=0, le=60, alias="OUTBOX_INTERVAL")
    # inline: the bot's scheduler sends the outbox; worker: `python -m bot.deliver` does (a lean process).
    delivery_mode: str = Field(default="inline", alias="DELIVERY_MODE")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    # Event reminders: minutes before the start, e.g. "24h,2h" or "1440,120"; and how often timers run.
    reminder_offsets: Annotated[list[int], NoDecode] = Field(
        default_factory=lambda: [1440, 120], alias="REMINDER_OFFSETS"
    )
    event_timers_interval: float = Field(default=60.0, gt=0, le=3600, alias="EVENT_TIMERS_INTERVAL")
    # Flood control: updates per second one user may send (0 = off), and how many at once.
    throttle_rate: float = Field(default=3.0, ge=0, le=100, alias="THROTTLE_RATE")
    throttle_burst: int = Field(default=10, ge=1, le=1000, alias="THROTTLE_BURST")

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",") if p.strip()]
            for part in parts:
                if not part.lstrip("-").isdigit():
                    raise ValueError(f"{part!r} is not a numeric Telegram id")
                if int(part) <= 0:
                    raise ValueError(f"{part!r} is not a Telegram user id (they are positive)")
            return [int(p) for p in parts]
        if isinstance(value, int):
            value = [value]
        if isinstance(value, list) and any(isinstance(v, int) and v <= 0 for v in value):
            raise ValueError("Telegram user ids are positive")
        return value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _parse_offsets(cls, value: object) -> object:
        if isinstance(value, str):
            minutes = []
            for part in (p.strip().lower() for p in value.split(",") if p.strip()):
                number, unit = (part[:-1], part[-1]) if part[-1] in "hm" else (part, "m")
                if not number.isdigit() or int(number) <= 0:
                    raise ValueError(f"{part!r} is not an offset such as 24h or 90m")
                minutes.append(int(number) * (60 if unit == "h" else 1))
            return sorted(set(minutes), reverse=True)
        return value

    @field_validator("bot_token", mode="before")
    @classmethod
    def _check_token(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            head, sep, tail = value.partition(":")
            if not sep or not head.isdigit() or not tail:
                raise ValueError("expected the form 123456789:AA... given by @BotFather")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/Moscow)"
            ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("default_locale")
    @classmethod
    def _check_locale(cls, value: str) -> str:
        if value not in ("ru", "en"):
            raise ValueError("must be ru or en")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            return None
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("delivery_mode")
    @classmethod
    def _check_delivery_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("inline", "worker"):
            raise ValueError("must be inline (the bot sends) or worker (python -m bot.deliver sends)")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def sandbox(self) -> bool:
        """Without a token the bot runs against the local Bot API emulator."""
        return self.bot_token is None

    @property
    def token(self) -> str:
        """The bot's token; the emulator's fixed one in the sandbox."""
        return self.bot_token.get_secret_value() if self.bot_token else SANDBOX_TOKEN

    def for_sandbox(self, api_url: str) -> Settings:
        """Pointed at the local emulator, with the sandbox's own database unless one is configured."""
        update: dict[str, object] = {"telegram_api_url": api_url}
        if self.database_url == DEFAULT_DATABASE_URL:
            update["database_url"] = SANDBOX_DATABASE_URL
        return self.model_copy(update=update)

    @property
    def delivery_rate(self) -> float:
        """Messages per second the delivery engine may send: Telegram's paid broadcasts allow up to 1000."""
        return self.outbox_paid_rate if self.paid_broadcast else self.outbox_rate

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ensure_data_dir(self) -> None:
        """SQLite needs its directory to exist before the first connection."""
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            path = self.database_url[len(prefix) :]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming it."""


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first.get("loc") else "settings"
        field = Settings.model_fields.get(name)
        env_name = field.alias if field is not None and field.alias else name.upper()
        reason = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"Configuration error: {env_name}: {reason}") from None
