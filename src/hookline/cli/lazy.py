"""A click group whose commands are imported when they are used, and listed in sections without it."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import click

from hookline.cli import exits


@dataclass(frozen=True, slots=True)
class Section:
    """A heading of ``hookline --help`` and its commands: name -> (``module:attribute``, one-line help)."""

    title: str
    commands: Mapping[str, tuple[str, str]]


class LazyGroup(click.Group):
    """Commands named by ``module:attribute`` under ``package``, imported by ``get_command``."""

    def __init__(self, *args: Any, sections: tuple[Section, ...], package: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sections = sections
        self.package = package
        self._where = {name: spec for section in sections for name, (spec, _) in section.commands.items()}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self._where)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = self._where.get(cmd_name)
        if spec is None:
            return None
        module_name, _, attribute = spec.partition(":")
        command = getattr(importlib.import_module(f"{self.package}.{module_name}"), attribute)
        assert isinstance(command, click.Command), spec
        exits.add_debug_option(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The sections' one-line helps, as written in the table (nothing is imported)."""
        for section in self.sections:
            with formatter.section(section.title):
                formatter.write_dl([(name, text) for name, (_, text) in section.commands.items()])
