"""Logging for a command's process: text lines, or JSON lines with ``HOOKLINE_LOG_JSON``."""

from __future__ import annotations

import json
import logging
import sys

from hookline.config import Settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": record.created,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # structured details: ``logger.warning(..., extra={"fields": …})``
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update({k: v for k, v in fields.items() if k not in entry})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JsonFormatter() if settings.log_json else logging.Formatter(fmt))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    # Alembic announces its plugins and its dialect at INFO on every use; its migration steps stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.migration").addFilter(_migration_steps)


def _migration_steps(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(("Context impl", "Will assume"))
