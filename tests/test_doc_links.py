"""Every relative link in README.md and docs/*.md reaches a real page and, with #, a heading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation but - and _ dropped, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return {_slug(h) for h in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, flags=re.M)}


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
    return LINK.findall(text) + IMAGE.findall(text)


def _is_stub(page: Path) -> bool:
    """A page that only says it moved (a title and one "Moved: ..." line)."""
    body = [line for line in page.read_text(encoding="utf-8").splitlines() if line.strip()]
    return len(body) <= 3 and any(line.lower().startswith("moved") for line in body)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_reach_existing_pages_and_headings(page: Path) -> None:
    for link in _links(page):
        if "://" in link or link.startswith("mailto:") or "/out/" in link:
            continue
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        assert path.exists(), f"{page.name}: broken link {link}"
        if path.suffix == ".md":
            assert not _is_stub(path), f"{page.name}: {link} is a 'Moved' stub; link its target"
            if anchor:
                assert anchor in _anchors(path), f"{page.name}: {link}: no heading #{anchor}"


def test_no_page_is_a_moved_stub() -> None:
    stubs = [p.name for p in PAGES if _is_stub(p)]
    assert not stubs, f"stub pages left: {stubs}"


def test_the_slug_rule_matches_githubs() -> None:
    assert _slug("Editor completion") == "editor-completion"
    assert _slug("`graphengine info`: what a file holds") == "graphengine-info-what-a-file-holds"
    assert _slug("source.tone") == "sourcetone"
    assert _slug("`denoise.echo_cancel`") == "denoiseecho_cancel"
