"""Short receiver code shown beside a webhook's secret: check the Standard Webhooks signature with it.

Each (``snippets_text/``) defines ``verified(body, headers)`` over the raw body as received and the
request's headers (lower-case names), reading the ``whsec_…`` secret from the receiver's ``WEBHOOK_SECRET``.
``tests/test_dashboard_secret.py`` runs both, as the page shows them, on a delivery hookline made (and on a
tampered one, which must fail).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "snippets_text"
PYTHON = (HERE / "verify.py.txt").read_text(encoding="utf-8")
NODE = (HERE / "verify.js.txt").read_text(encoding="utf-8")
