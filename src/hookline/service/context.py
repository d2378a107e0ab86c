"""What every use case needs: the database, the worker doorbell, the clock and the operator's choices."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hookline.core.credentials import Keyring
from hookline.core.models import Dispatch
from hookline.service.shaping import Shaping
from hookline.service.throttle import FailureLimiter
from hookline.storage.database import Database
from hookline.storage.wakeup import Wakeup


@dataclass(frozen=True, slots=True)
class Context:
    db: Database
    wakeup: Wakeup
    entitlements: bool = False
    #: ``strict``: an event breaking its type's schema is refused; ``flag``: accepted, stored with its
    #: problems.
    event_validation: str = "strict"
    allow_private_targets: bool = False
    require_https: bool = False
    #: Seals targets' endpoint credentials (``HOOKLINE_SECRET_KEY``); None: no key, so no ``auth`` is saved.
    keyring: Keyring | None = None
    clock: Callable[[], float] = field(default=time.time)
    #: The worker of this process, which takes new deliveries straight from ingestion (None: no worker here).
    dispatch: Dispatch | None = None
    #: Recently verified API keys (by digest): (valid until, principal). See ``auth.authenticate``.
    principals: dict[str, tuple[float, Any]] = field(default_factory=dict)
    #: Merchant ids known to exist (see ``auth.merchant_for``).
    merchants_seen: set[str] = field(default_factory=set)
    #: Failed authentications per client address (see ``auth.authenticate``).
    failures: FailureLimiter = field(default_factory=FailureLimiter)
    #: Merchants' platform ids: merchant id → (valid until, public id). See ``merchants.public_id_of``.
    merchant_public_ids: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    #: The budgets and the threads of the routes' transformations (``service/shaping.py``).
    shaping: Shaping = field(default_factory=Shaping)
