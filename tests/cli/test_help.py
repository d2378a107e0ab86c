"""``hookline --help`` imports little, is complete, and says what each command's own help says."""

from __future__ import annotations

import subprocess
import sys

import click

from hookline import cli


def test_help_lists_the_remote_commands() -> None:
    # How quick it is is not timed here (a shared machine makes any budget flaky): the next test checks
    # the cause, that the help imports neither the web app nor the drivers.
    done = subprocess.run(
        [sys.executable, "-m", "hookline", "--help"], capture_output=True, text=True, timeout=30, check=True
    )
    assert "Manage (through a running hookline's API)" in done.stdout


def test_help_imports_neither_the_web_app_nor_the_drivers() -> None:
    probe = "import sys; from hookline.cli import cli; print(sorted(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    for heavy in ("fastapi", "uvicorn", "sqlalchemy", "aiohttp", "pycurl", "rich", "hookline.asgi"):
        assert f"'{heavy}'" not in loaded, heavy


def test_the_listed_help_is_each_commands_own() -> None:
    group = cli.cli
    context = click.Context(group)
    for section in cli.SECTIONS:
        for name, (_, listed) in section.commands.items():
            command = group.get_command(context, name)
            assert command is not None, name
            assert command.help is not None and command.help.splitlines()[0] == listed, name
            assert "``" not in (command.help or ""), f"{name}: docstring markup in the help text"


def test_every_command_has_debug_and_help_without_rst() -> None:
    group = cli.cli
    context = click.Context(group)

    def walk(command: click.Command, path: str) -> None:
        names = {p.name for p in command.params}
        assert "debug" in names, path
        for param in command.params:
            assert "``" not in (getattr(param, "help", None) or ""), f"{path} {param.name}"
        if isinstance(command, click.Group):
            for sub_name, sub in command.commands.items():
                walk(sub, f"{path} {sub_name}")

    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        walk(command, name)
