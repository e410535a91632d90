"""The README's 5-minute tour, pasted into bash as a reader would, against the end-to-end stack.

The tour's ```sh blocks run in order in one shell (`bash -euo pipefail`). Only what points at
`make run`'s stack is rewritten: the API and node URLs, etp-admin (given this stack's name and
endpoint) and the demo meters' credentials folder. Every curl fails on an HTTP error status.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOUR_HEADING = "## A 5-minute tour"


def tour_blocks(readme: str) -> list[str]:
    """The ```sh blocks of the README's tour section, in order."""
    start = readme.index(TOUR_HEADING) + len(TOUR_HEADING)
    following = re.search(r"^## ", readme[start:], flags=re.MULTILINE)
    section = readme[start : start + following.start()] if following else readme[start:]
    return re.findall(r"^```sh\n(.*?)^```", section, flags=re.MULTILINE | re.DOTALL)


def tour_script(deployment) -> str:
    script = "\n".join(tour_blocks((ROOT / "README.md").read_text()))
    admin = f"{Path(sys.executable).with_name('etp-admin')} --env local --stack {deployment.stack.name} "
    admin += f"--endpoint-url {deployment.endpoint}"
    replacements = {
        "API=http://127.0.0.1:3000": f"API={deployment.api}",
        "NODE=http://127.0.0.1:14265": f"NODE={deployment.node}",
        ".venv/bin/etp-admin": admin,
        ".local/meters/": f"{deployment.meters}/",
    }
    for old, new in replacements.items():
        assert old in script, f"the tour no longer says {old!r}: update this test"
        script = script.replace(old, new)
    # a reader sees the error body; the test stops at the first HTTP error
    return 'curl() { command curl --fail-with-body "$@"; }\n' + script


def test_tour_blocks_are_found():
    blocks = tour_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 4
    fixed = [day for block in blocks for day in re.findall(r"\b\d{4}[/-]\d{2}[/-]\d{2}\b", block)]
    assert fixed == [], "the tour must compute its dates (date -d ...), not fix them"


def test_the_readme_tour_runs_on_the_stack(deployment):
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", tour_script(deployment)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n--- stdout\n{out}\n--- stderr\n{done.stderr}"
    assert '"account": "Aggregator"' in out or '"account":"Aggregator"' in out, out  # GET /user with the bearer
    assert out.count('"Accept"') >= 2, out  # both bids accepted
    assert re.search(r"Q\* = [\d.]+ kWh\s+p\* = [\d.]+ NT\$/kWh", out), out  # market show: the slot cleared
    assert out.count('"verified": true') == 2, out  # the DR result and the clearing, on the tangle
    assert re.search(r'"stored": \d+', out), out  # the tracker ran
    # /power_info (newest first) lists the published reading: stored by that run, or by a scheduled one
    # (every 5 minutes, on its own) that came first
    published = re.search(r'"transaction": ?"([A-Z9]{81})"', out)
    assert published and f"/explorer/transaction/{published.group(1)}" in out, out
    assert '"data_type": "NetLoad"' in out or '"data_type":"NetLoad"' in out, out
