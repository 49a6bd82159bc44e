"""Configuration from the environment and `.env` (every variable is in .env.example)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from survey.calls import CallPolicy
from survey.digest import DigestError, DigestPolicy, parse_digest_at
from survey.escalation import DEFAULT_RULES, EscalationRules, RulesError, parse_rules
from survey.feedback import FeedbackPolicy
from survey.policy import (
    CasePolicy,
    Dealer,
    OutreachPolicy,
    Policies,
    SegmentPolicy,
    Staffing,
)
from survey.visit_import import ImportLimits
from survey.working_hours import WorkingHours

IdList = Annotated[list[int], NoDecode]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(value: object) -> object:
    """'2h', '90m', '7d' or a number of seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if match:
            return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        if value.strip().isdigit():
            return timedelta(seconds=int(value))
        raise ValueError(f"{value!r} is not a duration like 2h, 90m or 7d")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    # Needed only to print invitation links without asking Telegram (getMe).
    bot_username: str | None = None
    database_url: str = "sqlite+aiosqlite:///followup.db"
    telegram_api_url: str = "https://api.telegram.org"
    # How long `run` keeps trying to reach the Bot API at start (a service may start
    # before the network is up); a token Telegram refuses stops it at once.
    telegram_startup_wait: Duration = timedelta(minutes=2)
    admin_ids: IdList = Field(default_factory=list)
    manager_ids: IdList = Field(default_factory=list)
    # Call-centre operators: phone surveys for customers the bot cannot reach.
    operator_ids: IdList = Field(default_factory=list)
    timezone: str = "Europe/Moscow"
    dealership_name: str = "Сервисный центр"
    default_language: str = "ru"
    # What `run` logs: INFO (one line at start, then what happens), DEBUG adds the
    # periodic jobs and the libraries' own lines, WARNING only problems.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Webhook mode (instead of long polling): the public HTTPS URL Telegram posts to, the
    # secret it sends in X-Telegram-Bot-Api-Secret-Token, and the local address to listen on.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0:8080"
    # How long Telegram's request waits for its update to be handled, so that what the
    # handler returns (a button's answer) rides in the reply; a slower update goes on in
    # the background and Telegram gets an empty reply (it re-sends after about 60 s).
    webhook_reply_within: float = Field(default=10.0, gt=0, le=50)

    # The visits API on the bot's web server (the webhook's; in polling mode started on
    # API_LISTEN): the dealer system's bearer token, and requests a minute per token.
    api_token: SecretStr | None = None
    api_listen: str | None = None
    api_rate: int = Field(default=60, ge=1)
    # The case board (a Telegram Mini App at /app/ on the same server): its public HTTPS
    # address. Unset: the webhook's origin + /app/ in webhook mode, no board in polling.
    board_url: str | None = None

    # Shared dialogue state for several bot processes (aiogram's RedisStorage); without
    # it the FSM state lives in the database.
    redis_url: str | None = None

    # Escalation of unhappy customers to the client service.
    managers_chat_id: int | None = None
    alert_to: Literal["both", "group", "managers"] = "both"
    escalation_rules: Path | None = None
    # A customer's praise written to the bot: a notice to the managers (default), or a
    # case to take and close like a complaint.
    feedback_praise_is_case: bool = False
    case_take_sla: Duration = timedelta(hours=2)
    case_resolve_sla: Duration = timedelta(hours=48)
    work_hours: str = "09:00-20:00"

    # The weekly report to management: a weekday and a time in TIMEZONE ("mon 09:00"), or
    # "off"; to these chats (the admins when empty).
    digest_at: str = "mon 09:00"
    digest_to: IdList = Field(default_factory=list)

    # Phone surveys: at most this many calls per customer, the next after this long.
    call_attempts: int = Field(default=3, ge=1, le=20)
    call_retry_after: Duration = timedelta(hours=2)

    # Invitations and broadcasts.
    invite_delay: Duration = timedelta(hours=24)
    quiet_hours: str = "20:00-10:00"
    survey_cooldown: Duration = timedelta(days=30)
    reminder_after: Duration = timedelta(hours=24)
    survey_ttl: Duration = timedelta(days=7)
    send_rate: float = Field(default=29, gt=0, le=30)
    # A message claimed by a worker that died is taken up by another after this long.
    send_lease: Duration = timedelta(minutes=2)
    privacy_url: str | None = None

    # Visit lists (CSV/XLSX, from the CLI or sent in the chat): at most this many rows, and
    # this many megabytes once unpacked (an XLSX is a zip); a larger file is refused whole.
    import_max_rows: int = Field(default=50_000, ge=1)
    import_max_mb: int = Field(default=50, ge=1)

    # Loyalty segments (Dick & Basu): satisfied at or above this CSI, returning at this
    # many visits in the last 12 months.
    segment_csi_threshold: float = Field(default=80, ge=0, le=100)
    segment_repeat_visits: int = Field(default=2, ge=1)

    _rules: EscalationRules = PrivateAttr(default=DEFAULT_RULES)
    _hours: WorkingHours | None = PrivateAttr(default=None)
    _send_hours: WorkingHours | None = PrivateAttr(default=None)

    @field_validator("digest_at")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        try:
            parse_digest_at(value)
        except DigestError as error:
            raise ValueError(str(error)) from error
        return value

    @field_validator("admin_ids", "manager_ids", "operator_ids", "digest_to", mode="before")
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

    @model_validator(mode="after")
    def _load_rules_and_hours(self) -> Settings:
        self._hours = WorkingHours.parse(self.work_hours, self.zone)
        self._send_hours = WorkingHours.outside_quiet(self.quiet_hours, self.zone)
        if self.escalation_rules is not None:
            try:
                text = self.escalation_rules.read_text(encoding="utf-8")
            except OSError as error:
                raise ValueError(
                    f"ESCALATION_RULES: cannot read {self.escalation_rules}: {error.strerror}"
                ) from error
            try:
                self._rules = parse_rules(text)
            except RulesError as error:
                raise ValueError(f"ESCALATION_RULES {self.escalation_rules}: {error}") from error
        return self

    def board_address(self) -> str | None:
        """Where staff open the case board: BOARD_URL, else the webhook's origin + /app/."""
        if self.board_url is not None:
            return self.board_url
        if self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}/app/"

    @field_validator("board_url")
    @classmethod
    def _https_board(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("BOARD_URL must be an https:// address (Telegram opens only those)")
        return value

    @field_validator("api_token", "api_listen", "board_url", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("api_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("API_TOKEN must be at least 16 characters (a long random string)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def rules(self) -> EscalationRules:
        return self._rules

    @property
    def hours(self) -> WorkingHours:
        assert self._hours is not None
        return self._hours

    @property
    def send_hours(self) -> WorkingHours:
        assert self._send_hours is not None
        return self._send_hours

    @property
    def staff_ids(self) -> set[int]:
        return set(self.admin_ids) | set(self.manager_ids) | set(self.operator_ids)

    def digest_policy(self) -> DigestPolicy:
        weekday, at = parse_digest_at(self.digest_at)
        return DigestPolicy(weekday=weekday, at=at, recipients=tuple(self.digest_to))

    def policies(self) -> Policies:
        """The parts of the configuration the other rooms work by."""
        return Policies(
            dealer=Dealer(
                name=self.dealership_name,
                zone=self.zone,
                language=self.default_language,
                privacy_url=self.privacy_url,
                board_url=self.board_address(),
            ),
            staffing=Staffing(
                admin_ids=tuple(self.admin_ids),
                manager_ids=tuple(self.manager_ids),
                operator_ids=tuple(self.operator_ids),
                managers_chat_id=self.managers_chat_id,
                alert_to=self.alert_to,
            ),
            cases=CasePolicy(
                hours=self.hours,
                rules=self.rules,
                take_sla=self.case_take_sla,
                resolve_sla=self.case_resolve_sla,
            ),
            outreach=OutreachPolicy(
                send_hours=self.send_hours,
                invite_delay=self.invite_delay,
                survey_cooldown=self.survey_cooldown,
                reminder_after=self.reminder_after,
                survey_ttl=self.survey_ttl,
                send_rate=self.send_rate,
                send_lease=self.send_lease,
            ),
            segments=SegmentPolicy(
                csi_threshold=self.segment_csi_threshold,
                repeat_visits=self.segment_repeat_visits,
            ),
            digest=self.digest_policy(),
            feedback=FeedbackPolicy(praise_is_case=self.feedback_praise_is_case),
            calls=CallPolicy(attempts=self.call_attempts, retry_after=self.call_retry_after),
            imports=ImportLimits(
                max_rows=self.import_max_rows, max_bytes=self.import_max_mb * 1024 * 1024
            ),
        )
