"""Start-up failures, as an operator meets them: one line naming what and where, and a documented exit code.

Each case runs ``python -m hookline`` in a fresh folder and checks the last line on stderr (the explanation),
the exit code (``hookline.cli.exits``), that no traceback was printed (``--debug`` prints it), and, where a
port was busy, that no operator key was generated or printed and no database was created: the ports are
bound before anything else happens.
"""

from __future__ import annotations

import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from cli.command import Ran, environment, hookline
from conftest import _pg_admin_dsn
from support.databases import empty_postgres

pytestmark = [pytest.mark.slow, pytest.mark.timeout(200)]

WARNINGS_ONLY = {"log_level": "WARNING"}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that something else listens on."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port: int = sock.getsockname()[1]
        return port


def assert_one_line_failure(ran: Ran, code: int, *phrases: str) -> None:
    assert ran.code == code, ran
    assert "Traceback" not in ran.stderr, ran
    assert ran.said.startswith("hookline: "), ran
    for phrase in phrases:
        assert phrase in ran.said, ran
    # With warnings only, the explanation is all there is on stderr: at most two lines of text.
    assert len(ran.stderr.strip().splitlines()) <= 2, ran


def test_a_busy_port_stops_serve_before_any_key_or_database(tmp_path: Path, busy_port: int) -> None:
    env = environment(port=busy_port, **WARNINGS_ONLY)
    ran = hookline("serve", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 5, f"127.0.0.1:{busy_port}", "in use", "--port / HOOKLINE_PORT")
    assert "operator key" not in ran.stdout + ran.stderr
    assert "listening" not in ran.stdout + ran.stderr
    assert not (tmp_path / "hookline.db").exists()


def test_a_busy_demo_port_is_an_error_not_another_port(tmp_path: Path, busy_port: int) -> None:
    env = environment(port=free_port(), **WARNINGS_ONLY)
    ran = hookline("serve", "--demo", "--demo-port", str(busy_port), cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 5, "demo receiver", f"127.0.0.1:{busy_port}", "--demo-port")
    assert "operator key" not in ran.stdout + ran.stderr
    assert not (tmp_path / "hookline.db").exists()
    assert not (tmp_path / "hookline-demo.env").exists()


def test_a_busy_api_port_stops_api(tmp_path: Path, busy_port: int) -> None:
    ran = hookline("api", "--port", str(busy_port), cwd=tmp_path, env=environment(**WARNINGS_ONLY))
    assert_one_line_failure(ran, 5, f"127.0.0.1:{busy_port}", "in use")


def test_a_busy_metrics_port_stops_the_worker(tmp_path: Path, busy_port: int) -> None:
    env = environment(metrics_port=busy_port, **WARNINGS_ONLY)
    ran = hookline("worker", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 5, "worker's metrics", f"127.0.0.1:{busy_port}", "--metrics-port")
    assert "operator key" not in ran.stdout + ran.stderr


def test_an_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    env = environment(database_url=f"sqlite:///{missing}/hookline.db", port=free_port(), **WARNINGS_ONLY)
    ran = hookline("serve", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 3, f"{missing}/hookline.db", f"the folder {missing} does not exist")
    assert "operator key" not in ran.stdout


def test_purge_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    database = tmp_path / "typo.db"
    ran = hookline("purge", "--database-url", f"sqlite:///{database}", cwd=tmp_path, env=environment())
    assert_one_line_failure(ran, 3, f"no database at {database}", "HOOKLINE_DATABASE_URL")
    assert not database.exists()


def test_postgres_on_a_wrong_port_names_host_and_port(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://postgres@127.0.0.1:{port}/hookline"
    env = environment(database_url=url, port=free_port(), **WARNINGS_ONLY)
    ran = hookline("serve", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 3, f"127.0.0.1:{port}", "refused the connection", "HOOKLINE_DATABASE_URL")
    assert "operator key" not in ran.stdout


def test_an_unresolvable_database_host_says_so(tmp_path: Path) -> None:
    url = "postgresql://postgres@no-such-host.invalid:5432/hookline"
    ran = hookline("migrate", "--database-url", url, cwd=tmp_path, env=environment(**WARNINGS_ONLY))
    assert_one_line_failure(ran, 3, "no-such-host.invalid:5432", "cannot resolve the host")


@pytest.fixture
async def empty_pg(pg_template: str) -> AsyncIterator[str]:
    async with empty_postgres() as name:
        yield name


@pytest.mark.postgres
def test_postgres_without_the_database_says_create_it(tmp_path: Path, pg_template: str) -> None:
    url = _pg_admin_dsn(f"hl_missing_{uuid.uuid4().hex[:8]}")
    ran = hookline("worker", cwd=tmp_path, env=environment(database_url=url, **WARNINGS_ONLY))
    assert_one_line_failure(ran, 3, "does not exist", "createdb")


@pytest.mark.postgres
def test_api_on_an_unmigrated_postgres_says_run_migrate(tmp_path: Path, empty_pg: str) -> None:
    env = environment(database_url=_pg_admin_dsn(empty_pg), port=free_port(), **WARNINGS_ONLY)
    ran = hookline("api", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 4, repr(empty_pg), "no hookline schema", "hookline migrate")
    assert "operator key" not in ran.stdout

    migrated = hookline("migrate", cwd=tmp_path, env=env)
    assert migrated.code == 0, migrated
    assert "migrated from schema revision none to" in migrated.stdout


def test_an_invalid_setting_is_a_usage_error(tmp_path: Path) -> None:
    ran = hookline("serve", cwd=tmp_path, env=environment(port="eighty"))
    assert_one_line_failure(ran, 2, "HOOKLINE_PORT='eighty' is not a valid int")
    unsupported = hookline("migrate", "--database-url", "mysql://db/hookline", cwd=tmp_path)
    assert_one_line_failure(unsupported, 2, "unsupported database URL")


def test_debug_adds_the_traceback(tmp_path: Path) -> None:
    database = tmp_path / "missing.db"
    ran = hookline("purge", "--debug", "--database-url", f"sqlite:///{database}", cwd=tmp_path)
    assert ran.code == 3, ran
    assert "Traceback" in ran.stderr and "hookline.core.errors.Unavailable" in ran.stderr, ran
    assert ran.said == f"hookline: there is no database at {database}: check HOOKLINE_DATABASE_URL " + (
        "(`hookline serve` or `hookline migrate` creates it)"
    )
    before = hookline("--debug", "purge", "--database-url", f"sqlite:///{database}", cwd=tmp_path)
    assert before.code == 3 and "Traceback" in before.stderr, before


def test_a_newer_schema_is_left_alone_and_migrate_says_who_made_it(tmp_path: Path) -> None:
    database = tmp_path / "hookline.db"
    url = f"sqlite:///{database}"
    assert hookline("migrate", "--database-url", url, cwd=tmp_path).code == 0
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999'")  # as a newer hookline would leave it
    ran = hookline("migrate", "--database-url", url, cwd=tmp_path, env=environment(**WARNINGS_ONLY))
    assert_one_line_failure(ran, 4, "schema revision 0999, made by a newer hookline")
    # An older release still works on it (migrations only add), saying so in its log.
    looked = hookline(
        "purge", "--dry-run", "--database-url", url, cwd=tmp_path, env=environment(**WARNINGS_ONLY)
    )
    assert looked.code == 0, looked
    assert "would delete 0 deliveries" in looked.stdout
    assert "newer than this hookline's" in looked.stderr


def test_a_malformed_egress_proxy_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    env = environment(
        database_url=f"sqlite:///{tmp_path}/hookline.db",
        port=free_port(),
        egress_proxy="socks5://proxy:1080",
        **WARNINGS_ONLY,
    )
    ran = hookline("serve", cwd=tmp_path, env=env)
    assert_one_line_failure(ran, 2, "HOOKLINE_EGRESS_PROXY='socks5://proxy:1080'", "http://")
