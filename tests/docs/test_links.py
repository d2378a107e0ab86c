"""The documentation stays inside the repository: every link resolves to a file in it, no text points at
files outside it, and the README links every document."""

from __future__ import annotations

import re

from docs.markdown_files import ROOT, documents, links

# Paths of the workplace the project was written in; a reader of the repository does not have them.
OUTSIDE = re.compile(r"\.\./shared|shared/(?:API|SPEC|ARCHITECTURE)\.md|reference/[a-z-]+\.md")


def test_every_relative_link_resolves_inside_the_repository() -> None:
    broken = []
    for path in documents():
        for target in links(path):
            if re.match(r"[a-z]+:|#", target):
                continue  # a web address, mail, or an anchor on the same page
            resolved = (path.parent / target.split("#")[0]).resolve()
            if not resolved.is_relative_to(ROOT) or not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_no_document_points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in documents()
        for match in OUTSIDE.finditer(path.read_text())
    ]
    assert not found, found


def test_the_readme_links_every_document() -> None:
    linked = {(ROOT / target.split("#")[0]).resolve() for target in links(ROOT / "README.md")}
    documents = [ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]
    unlinked = [p.name for p in documents if p.resolve() not in linked]
    assert not unlinked, f"docs not linked from the README: {unlinked}"
