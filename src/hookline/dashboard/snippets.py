"""Short receiver code shown beside a webhook's secret: check the Standard Webhooks signature with it.

Each (``snippets_text/``) defines ``verified(body, headers)`` (Ruby: ``verified?``) over the raw body as
received and the request's headers (lower-case names), reading the ``whsec_…`` secret from the receiver's
``WEBHOOK_SECRET``. They are the one copy: the details page shows them and ``docs/receivers.md`` links
them. ``tests/dashboard/test_dashboard_secret.py`` runs each, as the page shows it, on a delivery hookline
made (and on a tampered one, which must fail).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent / "snippets_text"
# Language (as the page names it) -> its file in snippets_text/, in the order the page shows them.
FILES = {
    "Python": "verify.py.txt",
    "Node": "verify.js.txt",
    "Go": "verify.go.txt",
    "PHP": "verify.php.txt",
    "Ruby": "verify.rb.txt",
}
SNIPPETS = {language: (HERE / name).read_text(encoding="utf-8") for language, name in FILES.items()}
