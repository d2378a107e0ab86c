"""The ``hookline`` command.

Each subcommand lives in a module of this package, imported only when it runs: ``hookline --help`` lists
them from ``SECTIONS`` without importing the web app, the database drivers or the HTTP clients (seconds on a
busy machine; ``tests/cli/test_help.py`` holds it under half a second and checks the table against the
commands' own help).

Processes and the database (``serve``, ``api``, ``worker``, ``migrate``, ``purge``, ``reseal``,
``doctor``) act on what the settings name; managing merchants, routes and deliveries goes through a running
hookline's API (``--url``, ``--key``), with the same checks, tenancy and results as the dashboard
(``docs/cli.md``).
"""

from __future__ import annotations

import click

from hookline import __version__
from hookline.cli import exits
from hookline.cli.lazy import LazyGroup, Section

SECTIONS = (
    Section(
        "Run",
        {
            "serve": (
                "serving:serve",
                "API, worker and dashboard in one process (migrates the database first).",
            ),
            "api": ("serving:api", "The HTTP API and dashboard alone (run `hookline migrate` first)."),
            "worker": ("serving:worker", "The delivery worker alone; any number may share one database."),
        },
    ),
    Section(
        "Database",
        {
            "migrate": ("schema:migrate", "Bring the database schema up to date."),
            "purge": (
                "purge:purge",
                "Delete finished deliveries, their attempts and events past the retention.",
            ),
            "reseal": (
                "reseal:reseal",
                "Re-encrypt targets' endpoint credentials with HOOKLINE_SECRET_KEY (after a key rotation).",
            ),
            "doctor": ("doctor:doctor", "Check the database, schema, clock, settings and outgoing network."),
        },
    ),
    Section(
        "Manage (through a running hookline's API)",
        {
            "merchants": ("merchants:merchants", "Create and list merchants, and manage their API keys."),
            "routes": ("routes:routes", "List a merchant's webhook routes, halt and resume them."),
            "deliveries": ("deliveries:deliveries", "Resend deliveries, replay events, send test events."),
        },
    ),
    Section(
        "Develop",
        {
            "simulate": (
                "simulate:simulate",
                "Drive a simulated subscription program's events into hookline.",
            ),
            "listen": (
                "listen:listen",
                "Receive a listener route's deliveries on this machine and forward them to a local URL.",
            ),
        },
    ),
)

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@click.group(cls=LazyGroup, sections=SECTIONS, package=__name__, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="hookline", message="%(prog)s %(version)s")
@exits.debug_option
def cli() -> None:
    """hookline: webhook delivery for subscription commerce.

    Settings come from HOOKLINE_* environment variables (docs/configuration.md); a command's flags
    override them. Exit codes: 0 done, 1 failed, 2 usage or an invalid setting, 3 database unreachable,
    4 database schema not migrated, 5 address in use, 6 API unreachable, 70 internal error (see --debug).
    """


def main() -> None:
    """The console script: the command, with failures as one line and an exit code (``exits``)."""
    exits.run(cli)
