"""Request bodies, validated at the edge; unknown fields are refused so typos do not pass silently."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    model_validator,
)

from hookline.api import openapi
from hookline.core import portal_settings
from hookline.core.models import RouteState
from hookline.core.ordering import Ordering


def _a_number(value: Any) -> Any:
    """JSON numbers only: pydantic's lax mode would take ``true`` as 1 and ``"3"`` as 3."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number (not a boolean or a string)")
    return value


Int = Annotated[int, BeforeValidator(_a_number)]
Number = Annotated[float, BeforeValidator(_a_number)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantIn(Body):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=openapi.NAME)
    public_id: str | None = Field(default=None, json_schema_extra=openapi.MERCHANT_PUBLIC_ID)


class MerchantPatch(Body):
    """Only the fields sent change; ``"public_id": null`` clears it, ``"name": null`` leaves it."""

    name: str | None = Field(default=None, min_length=1, max_length=200, json_schema_extra=openapi.NAME)
    public_id: str | None = Field(default=None, json_schema_extra=openapi.MERCHANT_PUBLIC_ID)


def _web_url(value: str) -> str:
    if not portal_settings.web_url(value):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


class PortalLinkIn(Body):
    """A portal link: how long it may wait to be opened, whether its session is read-only, and the
    platform's page its "Back to" link leads to."""

    ttl_s: Int = Field(default=600, ge=10, le=3600)
    read_only: StrictBool = False
    return_url: Annotated[str, AfterValidator(_web_url)] | None = Field(
        default=None,
        max_length=2000,
        json_schema_extra={**openapi.URL, "examples": ["https://platform.example/settings/webhooks"]},
    )


class TargetIn(Body):
    url: str = Field(min_length=1, max_length=2000, json_schema_extra=openapi.TARGET_URL)
    destination: dict[str, Any] | None = Field(default=None, json_schema_extra=openapi.DESTINATION)
    enabled: bool = True
    auth: dict[str, Any] | None = Field(default=None, json_schema_extra=openapi.auth)
    merchant: str | None = None


class TargetPatch(Body):
    """Only the fields sent change; ``"auth": null`` removes the endpoint credentials."""

    url: str | None = Field(default=None, min_length=1, max_length=2000, json_schema_extra=openapi.TARGET_URL)
    destination: dict[str, Any] | None = Field(default=None, json_schema_extra=openapi.DESTINATION)
    enabled: bool | None = None
    auth: dict[str, Any] | None = Field(default=None, json_schema_extra=openapi.auth)


class RetryIn(Body):
    initial_interval_s: Number | None = Field(
        default=None, json_schema_extra=openapi.RETRY["initial_interval_s"]
    )
    max_interval_s: Number | None = Field(default=None, json_schema_extra=openapi.RETRY["max_interval_s"])
    max_attempts: Int | None = Field(default=None, json_schema_extra=openapi.RETRY["max_attempts"])


class AutoHaltIn(Body):
    """Halt after ``failures`` consecutive failed attempts spanning ``window_s``; null: the default."""

    failures: Int | None = Field(
        default=None, json_schema_extra=openapi.AUTO_HALT["failures"]
    )  # 0: never halt
    window_s: Number | None = Field(default=None, json_schema_extra=openapi.AUTO_HALT["window_s"])


EventPattern = Annotated[str, Field(json_schema_extra=openapi.ROUTE_EVENT_TYPE)]
FieldPath = Annotated[str, Field(json_schema_extra=openapi.FIELD_PATH)]


class RouteIn(Body):
    name: str = Field(min_length=1, max_length=200, json_schema_extra=openapi.NAME)
    target_id: str = Field(min_length=1, max_length=40)
    event_types: list[EventPattern] = Field(min_length=1, max_length=100)
    snapshot: dict[str, list[str]] = Field(default_factory=dict, json_schema_extra=openapi.SNAPSHOT)
    state: RouteState = RouteState.ACTIVE
    retry: RetryIn | None = None
    timeout_s: Number | None = Field(default=None, json_schema_extra=openapi.TIMEOUT)
    headers: dict[str, str] = Field(default_factory=dict, max_length=20, json_schema_extra=openapi.HEADERS)
    auto_halt: AutoHaltIn | None = None
    fields_include: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    fields_exclude: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    transform: str | None = Field(default=None, json_schema_extra=openapi.TRANSFORM)
    ordering: Ordering = Field(default=Ordering.NONE, json_schema_extra=openapi.ORDERING)
    merchant: str | None = None


class RoutePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200, json_schema_extra=openapi.NAME)
    target_id: str | None = Field(default=None, min_length=1, max_length=40)
    event_types: list[EventPattern] | None = Field(default=None, min_length=1, max_length=100)
    snapshot: dict[str, list[str]] | None = Field(default=None, json_schema_extra=openapi.SNAPSHOT)
    state: RouteState | None = None
    retry: RetryIn | None = None
    timeout_s: Number | None = Field(default=None, json_schema_extra=openapi.TIMEOUT)
    headers: dict[str, str] | None = Field(default=None, max_length=20, json_schema_extra=openapi.HEADERS)
    auto_halt: AutoHaltIn | None = None
    # Payload shaping: null clears a setting (passed on through model_fields_set, not dropped as None).
    fields_include: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    fields_exclude: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    transform: str | None = Field(default=None, json_schema_extra=openapi.TRANSFORM)
    ordering: Ordering | None = Field(default=None, json_schema_extra=openapi.ORDERING)

    @model_validator(mode="before")
    @classmethod
    def _null_auto_halt_means_defaults(cls, data: Any) -> Any:
        # A PATCH is passed on without its null fields, yet "auto_halt": null asks for the defaults back.
        if isinstance(data, dict) and "auto_halt" in data and data["auto_halt"] is None:
            return {**data, "auto_halt": {}}
        return data


class PreviewIn(Body):
    """A preview's event (a sample without one), its snapshot, and shaping settings to try before saving.

    ``event_id`` names an accepted event instead: its snapshot is built as of its acceptance."""

    event: dict[str, Any] | None = Field(default=None, json_schema_extra=openapi.preview_event)
    event_id: str | None = Field(default=None, min_length=1, max_length=100)
    snapshot: dict[str, Any] | None = None
    fields_include: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    fields_exclude: list[FieldPath] | None = Field(default=None, json_schema_extra=openapi.FIELD_PATHS)
    transform: str | None = Field(default=None, json_schema_extra=openapi.TRANSFORM)


NoticeKind = Literal["route.halted", "route.failing"]  # notices.KINDS


def _every_kind() -> list[NoticeKind]:
    return ["route.halted", "route.failing"]


class NotificationsIn(Body):
    """A merchant's notification settings, replaced whole: a missing field takes its default."""

    emails: list[Annotated[str, Field(json_schema_extra=openapi.EMAIL)]] = Field(
        default_factory=list, max_length=10, json_schema_extra={"examples": [["ops@example.com"]]}
    )
    slack_webhook_url: str | None = Field(
        default=None,
        max_length=2000,
        json_schema_extra={**openapi.URL, "examples": ["https://hooks.slack.com/services/T000/B000/XXXX"]},
    )
    on: list[NoticeKind] = Field(
        default_factory=_every_kind,
        json_schema_extra={"examples": [["route.halted", "route.failing"]]},
    )


def _http_status(value: int) -> int:
    if not 100 <= value <= 599:
        raise ValueError("must be between 100 and 599")
    return value


class ListenReportIn(Body):
    """What ``hookline listen`` says the local URL answered (``response_status``), or why it got no answer
    (``error_kind``, ``error``): one of the two."""

    duration_ms: Number = Field(ge=0, le=86_400_000)
    response_status: Annotated[Int, AfterValidator(_http_status)] | None = Field(
        default=None, json_schema_extra=openapi.between(100, 599)
    )
    response_headers: dict[str, str] = Field(default_factory=dict, max_length=200)
    response_body: str = Field(default="", max_length=65_536)
    error_kind: Literal["timeout", "connect", "reset", "dns", "tls", "protocol"] | None = None
    error: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _an_answer_or_an_error(self) -> ListenReportIn:
        if (self.response_status is None) == (self.error_kind is None):
            raise ValueError(
                "give either response_status (the local answer) or error_kind (why there was none)"
            )
        return self
