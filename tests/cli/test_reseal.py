"""``hookline reseal``: after a key rotation, every target's credentials are sealed with the new key, so
the old key can go; credentials no key opens are named and left alone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from cryptography.fernet import Fernet

from cli.command import environment, hookline
from conftest import OPERATOR_KEY, Client, app_settings, new_merchant, running_app
from support.auth_servers import basic, start_auth_server
from support.events import event
from support.pipeline import wait_status

OLD, NEW, FOREIGN = (Fernet.generate_key().decode() for _ in range(3))


async def _target(db_url: str, key: str, url: str, with_auth: bool = True) -> str:
    async with running_app(app_settings(db_url, secret_key=key), worker=False) as http:
        merchant = await new_merchant(Client(http, OPERATOR_KEY), f"Shop {key[:6]} {with_auth}")
        auth = {"type": "basic", "username": "hookline", "password": "pa55"} if with_auth else None
        target = await merchant.ok("POST", "/v1/targets", 201, json={"url": url, "auth": auth})
        route = {"name": "r", "target_id": target["id"], "event_types": ["order.*"]}
        await merchant.ok("POST", "/v1/routes", 201, json=route)
        return str(target["id"])


async def test_reseal_moves_credentials_to_the_new_key(db_url: str, tmp_path: Path) -> None:
    async with start_auth_server() as server:
        server.accepted = {basic("hookline", "pa55")}
        await _target(db_url, OLD, server.url + "/hook")
        foreign = await _target(db_url, FOREIGN, server.url + "/hook")
        await _target(db_url, OLD, "http://127.0.0.1:9/none", with_auth=False)  # nothing to re-seal

        env = environment(database_url=db_url, secret_key=NEW, secret_key_old=OLD)
        ran = await asyncio.to_thread(hookline, "reseal", "--json", cwd=tmp_path, env=env)
        assert ran.code == 1, ran
        assert json.loads(ran.stdout) == {"resealed": 1, "unreadable": [foreign]}
        assert ran.said.endswith(
            f"no key opens the credentials of {foreign}: set them again (PATCH the target's auth)"
        )
        again = await asyncio.to_thread(hookline, "reseal", cwd=tmp_path, env=env)
        assert "re-sealed the credentials of 1 target(s)" in again.stdout

        no_key = await asyncio.to_thread(
            hookline, "reseal", cwd=tmp_path, env=environment(database_url=db_url)
        )
        assert no_key.code == 2 and "HOOKLINE_SECRET_KEY is not set" in no_key.said

        # The old key is gone: what it sealed is delivered with the new key alone.
        async with running_app(app_settings(db_url, secret_key=NEW)) as http:
            merchant = Client(http, OPERATOR_KEY)
            merchants = (await merchant.ok("GET", "/v1/merchants"))["data"]
            first = next(m for m in merchants if m["name"] == f"Shop {OLD[:6]} True")
            shop = Client(
                http, (await merchant.ok("POST", f"/v1/merchants/{first['id']}/api-keys", 201))["api_key"]
            )
            await shop.ok("POST", "/v1/events", 202, json=event())
            [delivery] = (await shop.ok("GET", "/v1/deliveries"))["data"]
            await wait_status(shop, delivery["id"], "success")
    assert server.seen == [basic("hookline", "pa55")]


def test_doctor_and_reseal_refuse_a_malformed_secret_key(tmp_path: Path) -> None:
    env = environment(database_url=f"sqlite:///{tmp_path}/none.db", secret_key="not-a-key")
    doctor = hookline("doctor", "--json", cwd=tmp_path, env=env)
    assert doctor.code == 1
    checks = {c["check"]: c for c in json.loads(doctor.stdout)}
    assert checks["secret key"]["status"] == "FAIL"
    assert "HOOKLINE_SECRET_KEY is not a Fernet key" in checks["secret key"]["detail"]
    ran = hookline("reseal", cwd=tmp_path, env=env)
    assert ran.code == 2 and "HOOKLINE_SECRET_KEY is not a Fernet key" in ran.said
