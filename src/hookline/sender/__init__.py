"""The outbound HTTP adapter: ``http.Sender`` posts attempts, ``guard`` is the SSRF policy behind it.

Only this package imports aiohttp. Callers use ``from hookline.sender import http as sender_http`` or
``from hookline.sender.http import open_sender, Sender``, and ``guard.check_url`` to validate a target
URL when it is created.
"""

from __future__ import annotations
