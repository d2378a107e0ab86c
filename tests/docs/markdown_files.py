"""Reading the repository's Markdown: its fenced code blocks and its links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class Block:
    info: str  # what follows the opening fence: "python receiver.py", "sh", …
    code: str

    @property
    def language(self) -> str:
        return self.info.split()[0] if self.info.strip() else ""


def blocks(path: Path) -> list[Block]:
    return [Block(info.strip(), code) for info, code in FENCE.findall(path.read_text())]


def block(path: Path, info: str) -> Block:
    """The one block whose fence says ``info`` exactly."""
    found = [b for b in blocks(path) if b.info == info]
    assert len(found) == 1, f"{path.name}: {len(found)} blocks marked ```{info}"
    return found[0]


def links(path: Path) -> list[str]:
    """Link targets in ``path``, outside code blocks."""
    prose = FENCE.sub("", path.read_text())
    return LINK.findall(prose)


def documents() -> list[Path]:
    """Every Markdown file of the repository a reader meets: the README, the changelog, the architecture,
    docs/."""
    found = [
        ROOT / "README.md",
        ROOT / "CHANGELOG.md",
        ROOT / "ARCHITECTURE.md",
        *sorted((ROOT / "docs").rglob("*.md")),
    ]
    return [path for path in found if path.exists()]
