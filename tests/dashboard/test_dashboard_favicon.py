"""``/favicon.ico``, which browsers ask every site for, is the dashboard's icon; every page links it."""

from __future__ import annotations

import re

import httpx

from conftest import Client
from support.dashboard import signed_in

ICO = b"\x00\x00\x01\x00"  # an icon directory: reserved 0, type 1 (icon)


async def test_the_favicon_is_served_and_linked(http: httpx.AsyncClient, merchant: Client) -> None:
    icon = await http.get("/favicon.ico")
    assert icon.status_code == 200, icon.text
    assert icon.headers["content-type"] == "image/x-icon" and icon.content.startswith(ICO)
    assert (await http.head("/favicon.ico")).status_code == 200
    for page in ("/dashboard/sign-in", "/dashboard/"):
        if page == "/dashboard/":
            await signed_in(http, merchant.key)
        html = (await http.get(page)).text
        found = re.search(r'<link rel="icon" href="([^"]+)"', html)
        assert found, f"{page} links no icon"
        linked = await http.get(found.group(1))
        assert linked.status_code == 200 and linked.content == icon.content
