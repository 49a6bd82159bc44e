"""Configuration from the environment and `.env` (every variable is in .env.example)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

IdList = Annotated[list[int], NoDecode]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    # Needed only to print invitation links without asking Telegram (getMe).
    bot_username: str | None = None
    database_url: str = "sqlite+aiosqlite:///followup.db"
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: IdList = Field(default_factory=list)
    manager_ids: IdList = Field(default_factory=list)
    timezone: str = "Europe/Moscow"
    dealership_name: str = "Сервисный центр"
    default_language: str = "ru"

    @field_validator("admin_ids", "manager_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}; e.g. Europe/Moscow") from error
        return value

    @field_validator("default_language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in ("ru", "en"):
            raise ValueError("DEFAULT_LANGUAGE must be ru or en")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
