"""How a command ends: one line saying what failed and what to do, and an exit code a script can test.

=====  ==========================================================================================
code   meaning
=====  ==========================================================================================
0      done
1      failed: the API refused the request, a check failed, a confirmation was declined
2      usage: a wrong option or argument, or an invalid ``HOOKLINE_*`` setting
3      the database cannot be reached or opened (a retry may succeed once it is back)
4      the database schema is older than this hookline: run ``hookline migrate``
5      an address to listen on is in use or not allowed
6      the hookline API (``--url``) cannot be reached
70     an internal error (a bug): ``--debug`` shows the traceback; please report it
130    interrupted (Ctrl-C) before the command started its work
=====  ==========================================================================================

``explain`` is the one table from exceptions to codes; ``docs/cli.md`` repeats it for operators, and a
systemd unit uses it (``RestartPreventExitStatus=2 4 5``: restarting cannot fix those).
"""

from __future__ import annotations

import enum
import sys
import traceback
from typing import Any, NoReturn

import click

from hookline.core import errors


class Exit(enum.IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    DATABASE = 3
    SCHEMA = 4
    ADDRESS = 5
    API = 6
    INTERNAL = 70
    INTERRUPTED = 130


class Failure(Exception):
    """A failure the command explains itself (a busy port, an unreachable API): ``message`` and ``code``."""

    def __init__(self, code: Exit, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_state = {"debug": False}


def _set_debug(_ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _state["debug"] = True


debug_option = click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="On an error, show the traceback too.",
)


def add_debug_option(command: click.Command) -> None:
    """``--debug`` on ``command`` and, for a group, on its subcommands (``hookline serve --debug``)."""
    if not any(param.name == "debug" for param in command.params):
        debug_option(command)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_debug_option(sub)


def explain(exc: BaseException) -> tuple[Exit, str]:
    """The exit code and the line to print for an exception that ended a command."""
    if isinstance(exc, Failure):
        return exc.code, exc.message
    if isinstance(exc, errors.NotMigrated):
        return Exit.SCHEMA, exc.detail
    if isinstance(exc, errors.Unavailable):
        return Exit.DATABASE, exc.detail
    if isinstance(exc, errors.HooklineError):
        return Exit.FAILED, exc.detail
    if isinstance(exc, SystemExit):
        # Settings refuse invalid values with SystemExit("HOOKLINE_PORT='x' is not a valid int").
        return Exit.USAGE, str(exc.code)
    if isinstance(exc, KeyboardInterrupt):
        return Exit.INTERRUPTED, "interrupted"
    if isinstance(exc, OSError):  # a file it could not write, say: the operator can act on the message
        return Exit.FAILED, str(exc)
    return Exit.INTERNAL, f"internal error: {type(exc).__name__}: {exc} (run again with --debug for details)"


def run(command: click.Command, args: Any = None) -> NoReturn:
    """Run ``command`` as the ``hookline`` program; whatever ends it ends the process with its code."""
    try:
        # Not standalone: click would print "Aborted!" for a Ctrl-C and let any other exception through.
        code = command.main(args=args, prog_name="hookline", standalone_mode=False)
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):
            _fail(exc.__context__)
        click.echo("hookline: aborted", err=True)
        sys.exit(Exit.FAILED)
    except click.ClickException as exc:  # usage errors: click prints them with the command's usage line
        exc.show()
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        if not isinstance(exc.code, str):
            raise
        _fail(exc)
    except BaseException as exc:
        _fail(exc)
    sys.exit(code if isinstance(code, int) else Exit.OK)


def _fail(exc: BaseException) -> NoReturn:
    code, message = explain(exc)
    if _state["debug"]:
        traceback.print_exception(exc)
    click.echo(f"hookline: {message}", err=True)
    sys.exit(code)
