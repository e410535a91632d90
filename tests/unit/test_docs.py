"""Every relative link of the repository's Markdown resolves: the file exists and its `#anchor`
names a heading of the target, slugged as GitHub does. Also: the README stays short, and the
docs cite no commit hashes."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README_LIMIT = 15_000

FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+).+?\1", re.DOTALL)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
HTML_ANCHOR = re.compile(r"""<a\s+(?:name|id)=["']([^"']+)["']""")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def without_code(text: str) -> str:
    """The text with fenced blocks blanked (links and headings in them do not count)."""
    return FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: the rendered text, lower-cased, punctuation other than `-`
    and `_` removed, each space a `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w is Unicode: CJK and accented letters stay
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a Markdown file, duplicates numbered as GitHub does (`-1`, `-2`, ...)."""
    text = without_code(path.read_text())
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for _, title in HEADING.findall(text):
        base = slug(title)
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")
        seen[base] = count + 1
    return found


def links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", without_code(path.read_text()))
    return LINK.findall(text)


def broken_links(path: Path) -> list[str]:
    problems = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            problems.append(
                f"{target}: no file {resolved.relative_to(ROOT) if resolved.is_relative_to(ROOT) else resolved}"
            )
            continue
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    return problems


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_the_check_finds_broken_links(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A page\n\n## Login policy (short)\n\ntext\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n"
        "[ok](docs/a.md) [ok](docs/a.md#login-policy-short) [ok](#title) [web](https://example.com/x#y)\n"
        "[missing file](docs/b.md) [missing anchor](docs/a.md#login-policy) [here](#nothing)\n"
        "```sh\n[in code](nowhere.md)\n```\n"
    )
    assert broken_links(page) == [
        "docs/b.md: no file docs/b.md",
        "docs/a.md#login-policy: no heading #login-policy in docs/a.md",
        "#nothing: no heading #nothing in README.md",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Retries (Idempotency-Key)", "retries-idempotency-key"),
        ("PUT /user — change the caller's password", "put-user--change-the-callers-password"),
        ("GET /bidsubmit?bid_type=buy|sell[&per_page=10][&page=1]", "get-bidsubmitbid_typebuysellper_page10page1"),
        (
            "Invoking one function with `sam local invoke` (where Docker exists)",
            "invoking-one-function-with-sam-local-invoke-where-docker-exists",
        ),
        ("Scheduled jobs' events", "scheduled-jobs-events"),
        ("One SAM template; MiniStack locally, moto in tests", "one-sam-template-ministack-locally-moto-in-tests"),
    ],
)
def test_slugs_follow_github(heading, anchor):
    assert slug(heading) == anchor


def test_the_readme_is_short():
    assert len((ROOT / "README.md").read_bytes()) <= README_LIMIT


def test_no_commit_hashes_in_the_docs():
    """History lives in git: no `d46baff`-like citations."""
    for path in markdown_files():
        tokens = re.findall(r"`([0-9a-f]{7,40})`", path.read_text())
        assert [t for t in tokens if re.search(r"[a-f]", t) and re.search(r"[0-9]", t)] == [], path.name
