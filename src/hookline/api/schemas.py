"""Request bodies, validated at the edge; unknown fields are refused so typos do not pass silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hookline.models import RouteState


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantIn(Body):
    name: str = Field(min_length=1, max_length=200)


class TargetIn(Body):
    url: str = Field(min_length=1, max_length=2000)
    enabled: bool = True
    merchant: str | None = None


class TargetPatch(Body):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    enabled: bool | None = None


class RetryIn(Body):
    initial_interval_s: float | None = None
    max_interval_s: float | None = None
    max_attempts: int | None = None


class RouteIn(Body):
    name: str = Field(min_length=1, max_length=200)
    target_id: str = Field(min_length=1, max_length=40)
    event_types: list[str] = Field(min_length=1, max_length=100)
    snapshot: dict[str, list[str]] = Field(default_factory=dict)
    state: RouteState = RouteState.ACTIVE
    retry: RetryIn | None = None
    timeout_s: float | None = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    merchant: str | None = None


class RoutePatch(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    target_id: str | None = Field(default=None, min_length=1, max_length=40)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100)
    snapshot: dict[str, list[str]] | None = None
    state: RouteState | None = None
    retry: RetryIn | None = None
    timeout_s: float | None = None
    headers: dict[str, str] | None = Field(default=None, max_length=20)
