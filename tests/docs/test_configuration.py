"""``docs/configuration.md`` is generated from ``hookline.config.Settings`` and lists every variable.

The reference is the settings' own comments (the ``#:`` lines above each field, which apply to the fields
that follow them up to the next comment), rendered here; the test fails when the file differs from what the
code says, and ``./scripts/regenerate`` writes it again. A second test greps the code, scripts and
deployment files for ``HOOKLINE_*`` names and fails on any the reference does not list, so a variable read
anywhere without a field of ``Settings`` (or one of the test suite's own) cannot go unnoticed.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from pathlib import Path
from typing import Any

from docs.markdown_files import ROOT
from hookline import config
from hookline.config import PREFIX, Settings

REFERENCE = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"(?<![A-Z0-9_])HOOKLINE_[A-Z0-9_]*[A-Z0-9]")
# Read by the test suite and the benchmarks, not by hookline.
TEST_VARIABLES = {
    "HOOKLINE_TEST_POSTGRES_URL": "the PostgreSQL server the tests and benchmarks create their databases on "
    "(default `postgresql://postgres@127.0.0.1:5432/test`)",
    "HOOKLINE_TEST_SCREENSHOTS": "`1`: the browser test also writes its screenshots to `docs/screenshots/`",
    "HOOKLINE_TEST_REGENERATE": "`1`: the tests of generated files write them instead of comparing "
    "(`./scripts/regenerate` sets it)",
    "HOOKLINE_TEST_PG_RESTART": "`1`: also run the test that restarts the shared PostgreSQL cluster",
    "HOOKLINE_TEST_WORKERS": "how many pytest-xdist workers `./scripts/test` runs the tests in (default 4)",
}
HEADER = """# Configuration

<!-- Generated from hookline.config.Settings by ./scripts/regenerate: edit the comments there. -->

Every setting is an environment variable named `HOOKLINE_` + the field's name in capitals, read once when a
process starts; a command's flags (`--database-url`, `--host`, `--port`, `--metrics-port`,
`--older-than-days`) override the variable for that command. An empty variable counts as unset. A value
that is not of the setting's kind stops the process with exit code 2, naming the variable
(`HOOKLINE_PORT='eighty' is not a valid int`). Booleans take `true`/`false`, `1`/`0`, `yes`/`no`,
`on`/`off`.

| variable | kind | default | meaning |
|---|---|---|---|
"""


def groups() -> list[tuple[list[dataclasses.Field[Any]], str]]:
    """The fields of ``Settings`` in order, grouped under the comment above them."""
    by_name = {f.name: f for f in dataclasses.fields(Settings)}
    found: list[tuple[list[dataclasses.Field[Any]], str]] = []
    comment: list[str] = []
    for line in inspect.getsource(Settings).splitlines():
        text = line.strip()
        if text.startswith("#:"):
            comment.append(text[2:].strip())
            continue
        field = re.match(r"(\w+):", text)
        if field is None or field.group(1) not in by_name:
            comment = []
            continue
        if comment or not found:
            found.append(([by_name[field.group(1)]], " ".join(comment)))
            comment = []
        else:
            found[-1][0].append(by_name[field.group(1)])
    return found


def _markdown(text: str) -> str:
    """Docstring markup (``x``) as Markdown (`x`), table-safe."""
    return text.replace("``", "`").replace("|", "\\|")


def _default(field: dataclasses.Field[Any]) -> str:
    value = field.default
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == "":
        return "(empty)"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def reference() -> str:
    rows = []
    for fields, meaning in groups():
        names = "<br>".join(f"`{PREFIX}{f.name.upper()}`" for f in fields)
        kinds = "<br>".join(str(f.type) for f in fields)
        defaults = "<br>".join(_default(f) for f in fields)
        rows.append(f"| {names} | {kinds} | {defaults} | {_markdown(meaning)} |")
    tests = "\n".join(f"| `{name}` | {meaning} |" for name, meaning in sorted(TEST_VARIABLES.items()))
    trailer = (
        "## Variables of the test suite\n\nRead by `./scripts/test` and `bench/`, never by hookline.\n\n"
    )
    return f"{HEADER}{chr(10).join(rows)}\n\n{trailer}| variable | meaning |\n|---|---|\n{tests}\n"


def test_every_setting_has_a_comment() -> None:
    undocumented = [f.name for fields, meaning in groups() if not meaning for f in fields]
    assert not undocumented, f"fields of Settings without a #: comment above them: {undocumented}"
    assert sum(len(fields) for fields, _ in groups()) == len(dataclasses.fields(Settings))


def test_the_reference_is_generated_from_the_settings() -> None:
    expected = reference()
    if os.environ.get("HOOKLINE_TEST_REGENERATE"):
        REFERENCE.write_text(expected)
    assert REFERENCE.read_text() == expected, "docs/configuration.md is out of date: run ./scripts/regenerate"


def _sources() -> list[Path]:
    """Where a variable could be read or set: the package, scripts, deployment files, CI, benchmarks."""
    found = [*(ROOT / "src").rglob("*.py"), *(ROOT / "bench").rglob("*.py"), *(ROOT / "deploy").rglob("*")]
    found += [*(ROOT / "scripts").iterdir(), ROOT / ".ci" / "run", *(ROOT / "tests").rglob("*.py")]
    return [path for path in found if path.is_file()]


def test_every_variable_in_the_code_is_in_the_reference() -> None:
    documented = set(NAME.findall(REFERENCE.read_text()))
    assert {PREFIX + f.name.upper() for f in dataclasses.fields(Settings)} <= documented
    missing: dict[str, str] = {}
    for path in _sources():
        for name in NAME.findall(path.read_text(errors="replace")):
            in_tests = path.is_relative_to(ROOT / "tests")
            if in_tests and not name.startswith("HOOKLINE_TEST_"):
                continue  # tests also use made-up names, to check that unknown ones are ignored
            if name not in documented:
                missing[name] = str(path.relative_to(ROOT))
    assert not missing, f"HOOKLINE_* variables missing from docs/configuration.md: {missing}"


def test_settings_are_read_in_config_alone() -> None:
    # The reference can only be complete if nothing else reads the environment (ruff's TID251 bans it too).
    source = inspect.getsource(config)
    assert "os.environ" in source
    for path in (ROOT / "src").rglob("*.py"):
        if path.name != "config.py":
            assert "os.environ" not in path.read_text() and "getenv(" not in path.read_text(), path
