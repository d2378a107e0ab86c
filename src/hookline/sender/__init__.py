"""The outbound HTTP adapter: ``http.Sender`` posts attempts, ``guard`` is the SSRF policy behind it.

Only this package imports aiohttp. Callers use ``from hookline.sender.http import open_sender, Sender``,
and ``guard.target_url`` for the canonical form of a target URL (``urls``) when it is saved, or why not.
``api_client`` is the simulator's client for hookline's own API and ``demo_receiver`` the local receiver of
``serve --demo``.
"""

from __future__ import annotations
