"""hookline: a webhook delivery platform for subscription commerce."""

from __future__ import annotations

__version__ = "0.1.0"
