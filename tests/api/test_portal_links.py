"""Portal links (docs/portal.md): minted by the operator, opened once, for one merchant only."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from hookline.config import Settings
from hookline.runtime import portal as portal_settings_of
from hookline.storage.database import Database
from hookline.storage.tables import portal_links, sessions
from support.dashboard import make_route

PATH = "/v1/merchants/{}/portal-links"


def _id(client: Client) -> str:
    merchant_id: str = client.merchant_id  # type: ignore[attr-defined]
    return merchant_id


async def mint(operator: Client, merchant: Client, **body: Any) -> dict[str, Any]:
    link: dict[str, Any] = await operator.ok("POST", PATH.format(_id(merchant)), 201, json=body)
    return link


async def _rows(db_url: str, table: Any, **values: Any) -> list[dict[str, Any]]:
    """Every row of ``table``; with ``values``, after setting them on every row."""
    db = Database(db_url)
    try:
        if values:
            async with db.write() as conn:
                await conn.execute(update(table).values(**values))
        async with db.read() as conn:
            return [dict(r) for r in (await conn.execute(select(table))).mappings()]
    finally:
        await db.close()


def _session_cookie(answer: httpx.Response) -> str | None:
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith("hookline_session=") and not header.startswith("hookline_session=;"):
            return header
    return None


async def test_a_link_signs_the_browser_in_to_its_merchant_once(
    db_url: str, http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    before = time.time()
    link = await mint(operator, merchant, return_url="https://platform.example/settings")
    assert link["url"].startswith("http://hookline.test/dashboard/portal/")
    assert link["read_only"] is False and link["return_url"] == "https://platform.example/settings"
    expires = link["expires"]
    assert expires.endswith("Z")
    token = link["url"].rsplit("/", 1)[1]
    # The database keeps the token's hash only.
    [row] = await _rows(db_url, portal_links)
    assert row["token_hash"] == hashlib.sha256(token.encode()).hexdigest() and token not in str(row)
    assert before + 600 - 1 <= row["expires"] <= time.time() + 600 and row["used"] is None

    opened = await http.get(link["url"])
    assert opened.status_code == 303 and opened.headers["location"] == "/dashboard/"
    cookie = _session_cookie(opened)
    assert cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/dashboard" in cookie
    home = await http.get("/dashboard/")
    assert home.status_code == 200 and "Acme Coffee" in home.text
    assert 'href="https://platform.example/settings" target="_top">Back to the platform' in home.text
    [session] = await _rows(db_url, sessions)
    assert session["merchant_id"] == _id(merchant) and not session["operator"] and session["key_hash"] is None
    assert session["portal_link_id"] == link["id"] and not session["read_only"]

    # Used once: a second opening (another browser, or the same) is refused and signs nobody in.
    http.cookies.clear()
    again = await http.get(link["url"])
    assert again.status_code == 410 and "used already" in again.text and _session_cookie(again) is None
    assert (await http.get("/dashboard/")).status_code == 303
    assert len(await _rows(db_url, sessions)) == 1


async def test_a_link_opened_at_once_by_many_opens_one_session(
    db_url: str, http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    link = await mint(operator, merchant)
    answers = await asyncio.gather(*(http.get(link["url"]) for _ in range(6)))
    assert sorted(a.status_code for a in answers) == [303] + [410] * 5
    assert len(await _rows(db_url, sessions)) == 1


async def test_an_expired_or_altered_link_opens_nothing(
    db_url: str, http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    link = await mint(operator, merchant, ttl_s=10)
    token = link["url"].rsplit("/", 1)[1]
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    for url in (f"/dashboard/portal/{altered}", "/dashboard/portal/x", f"/dashboard/portal/{token}x"):
        answer = await http.get(url)
        assert answer.status_code == 404 and "not valid" in answer.text and _session_cookie(answer) is None
    await _rows(db_url, portal_links, expires=time.time() - 1)
    expired = await http.get(link["url"])
    assert expired.status_code == 410 and "expired" in expired.text and _session_cookie(expired) is None
    assert (await http.get("/dashboard/")).status_code == 303
    assert await _rows(db_url, sessions) == []
    [row] = await _rows(db_url, portal_links)
    assert row["used"] is None


async def test_a_link_opens_its_merchant_and_no_other(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    other = await new_merchant(operator)
    theirs = await make_route(other, "http://127.0.0.1:9/theirs", name="their webhook")
    mine = await make_route(merchant, "http://127.0.0.1:9/mine", name="my webhook")
    link = await mint(operator, merchant)
    assert (await http.get(link["url"])).status_code == 303
    home = await http.get("/dashboard/")
    assert "my webhook" in home.text and "their webhook" not in home.text
    assert (await http.get(f"/dashboard/routes/{mine['id']}")).status_code == 200
    assert (await http.get(f"/dashboard/routes/{theirs['id']}")).status_code == 404
    # Not the operator either: no merchant list, no switching.
    assert (await http.get("/dashboard/merchants")).status_code == 403


async def test_only_the_operator_mints_links_for_a_merchant_that_exists(
    http: httpx.AsyncClient, operator: Client, merchant: Client
) -> None:
    refused = await merchant.call("POST", PATH.format(_id(merchant)), json={})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    missing = await operator.call("POST", PATH.format("mer_nope"), json={})
    assert missing.status_code == 404
    no_key = await http.post(PATH.format(_id(merchant)), json={})
    assert no_key.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ttl_s": 9}, "ttl_s"),
        ({"ttl_s": 3601}, "ttl_s"),
        ({"ttl_s": "600"}, "ttl_s"),
        ({"ttl_s": True}, "ttl_s"),
        ({"read_only": "yes"}, "read_only"),
        ({"return_url": "javascript:alert(1)"}, "return_url"),
        ({"return_url": "ftp://platform.example/"}, "return_url"),
        ({"return_url": "/settings"}, "return_url"),
        ({"return_url": "https://"}, "return_url"),
        ({"return_url": "https://user:pw@platform.example/"}, "return_url"),
        ({"return_url": "https://platform.example/a b"}, "return_url"),
        ({"return_url": "https://platform.example/" + "a" * 2000}, "return_url"),
        ({"url": "https://platform.example/"}, "url"),
    ],
)
async def test_bad_link_requests_are_400_and_mint_nothing(
    db_url: str, operator: Client, merchant: Client, body: dict[str, Any], field: str
) -> None:
    answer = await operator.call("POST", PATH.format(_id(merchant)), json=body)
    assert answer.status_code == 400, answer.text
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    assert await _rows(db_url, portal_links) == []


async def test_ttl_bounds_are_accepted(operator: Client, merchant: Client) -> None:
    for ttl in (10, 3600):
        link = await mint(operator, merchant, ttl_s=ttl, read_only=True, return_url="http://platform.test/x")
        assert link["read_only"] is True


async def test_the_dashboard_refuses_to_be_framed_by_default(http: httpx.AsyncClient) -> None:
    page = await http.get("/dashboard/sign-in")
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


async def test_the_portal_origins_may_frame_it_with_cross_site_cookies(
    db_url: str, merchant_name: str = "Acme Coffee"
) -> None:
    brand = (
        '{"name": "Platform Co", "logo_url": "https://cdn.platform.example/logo.png", "accent": "#aa1100"}'
    )
    settings = app_settings(
        db_url,
        portal_frame_ancestors="https://platform.example, http://127.0.0.1:9999",
        portal_brand=brand,
    )
    async with running_app(settings, worker=False) as http:
        operator = Client(http, OPERATOR_KEY)
        merchant = await new_merchant(operator, merchant_name)
        link = await mint(operator, merchant, return_url="https://platform.example/")
        # Secure cookies travel over https only: the browser is on https here.
        opened = await http.get(link["url"].replace("http://", "https://"))
        policy = opened.headers["content-security-policy"]
        assert "frame-ancestors https://platform.example http://127.0.0.1:9999;" in policy
        assert "img-src 'self' data: https://cdn.platform.example;" in policy
        assert "x-frame-options" not in opened.headers
        cookie = _session_cookie(opened)
        assert cookie and "SameSite=none" in cookie and "Secure" in cookie and "Partitioned" in cookie
        home = await http.get("https://hookline.test/dashboard/")
        assert home.status_code == 200
        assert "<title>Webhooks · Platform Co</title>" in home.text and ">hookline<" not in home.text
        assert 'src="https://cdn.platform.example/logo.png"' in home.text
        assert "Back to Platform Co" in home.text and "Sign out" not in home.text
        css = await http.get("https://hookline.test/dashboard/brand.css")
        assert "--brand: #aa1100" in css.text and css.headers["content-type"].startswith("text/css")
        # A browser signed in with a key keeps hookline's own look.
        http.cookies.clear()
        sign_in = await http.get("https://hookline.test/dashboard/sign-in")
        assert "· hookline</title>" in sign_in.text


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("portal_brand", "{", "HOOKLINE_PORTAL_BRAND is not JSON"),
        ("portal_brand", "[]", "HOOKLINE_PORTAL_BRAND must be a JSON object"),
        ("portal_brand", '{"logo_url": "https://x.example/a.png"}', "needs a name"),
        ("portal_brand", '{"name": "A", "colour": "red"}', "unknown fields ['colour']"),
        ("portal_brand", '{"name": "A", "accent": "red"}', "accent must be a colour"),
        ("portal_brand", '{"name": "A", "accent": "#12345g"}', "accent must be a colour"),
        ("portal_brand", '{"name": "A", "logo_url": "javascript:x"}', "logo_url must be an http(s) URL"),
        ("portal_frame_ancestors", "platform.example", "'platform.example' is not an origin"),
        ("portal_frame_ancestors", "https://platform.example/path", "is not an origin"),
        ("portal_frame_ancestors", "https://a.example; script-src *", "is not an origin"),
        ("portal_frame_ancestors", "'self'", "is not an origin"),
    ],
)
def test_bad_portal_settings_stop_the_start_naming_them(name: str, value: str, said: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        portal_settings_of(Settings.from_env({"HOOKLINE_" + name.upper(): value}))
    assert said in str(stopped.value)


def test_good_portal_settings_parse() -> None:
    found = portal_settings_of(
        Settings(
            portal_frame_ancestors="https://a.example http://localhost:3000/", portal_brand='{"name": "A"}'
        )
    )
    assert found.frame_ancestors == ("https://a.example", "http://localhost:3000")
    assert found.brand is not None and found.brand.name == "A" and found.brand.accent is None


async def test_bad_portal_settings_stop_the_app_at_start(db_url: str) -> None:
    with pytest.raises(SystemExit, match="HOOKLINE_PORTAL_BRAND"):
        async with running_app(app_settings(db_url, portal_brand="nope"), worker=False):
            pass
