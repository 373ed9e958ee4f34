"""Screenshots of the Dagster asset lineage with headless Chromium (Debian's `chromium`).

    .venv/bin/python scripts/dagster_screenshot.py [--url http://127.0.0.1:3300] [--out reports]

Needs a running `make orchestrate`. Writes <out>/dagster-asset-groups.png (every group
collapsed: the layers and how they feed each other) and <out>/dagster-asset-graph.png
(the learning part expanded: labels -> two_tower_model -> caches, evaluation, ranked
candidates). Chromium is driven over the DevTools protocol (websockets, installed with
dagster-webserver): the UI is a JavaScript app, and the groups to expand are stored in
the page's localStorage.
"""

from __future__ import annotations

import argparse
import base64
import io
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image
from websockets.sync.client import connect

GROUPS_KEY = "asset-graph-open-graph-nodes-global-__GLOBAL__"
DETAIL_GROUPS = ("labels", "learning", "two_tower", "reports")
CLICK_TEXT = (
    "(() => {{ const b = [...document.querySelectorAll('button')].find({}); if (b) b.click(); }})()"
)


class Browser:
    def __init__(self, size: str, port: int = 9339) -> None:
        self.profile = tempfile.mkdtemp(prefix="ses-chromium-")
        self.proc = subprocess.Popen(
            ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={self.profile}", f"--window-size={size}",
             f"--remote-debugging-port={port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                    page = next(t for t in json.load(r) if t["type"] == "page")
                break
            except (OSError, StopIteration):
                time.sleep(0.2)
        else:
            raise SystemExit("chromium did not start")
        self.socket = connect(page["webSocketDebuggerUrl"], max_size=2**26)
        self.ids = itertools.count(1)

    def __enter__(self) -> Browser:
        self.ws = self.socket.__enter__()
        self.call("Page.enable")
        return self

    def __exit__(self, *exc) -> None:
        self.socket.__exit__(*exc)
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, **params) -> dict:
        i = next(self.ids)
        self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")


def lineage(url: str, out: Path, size: str, expanded: tuple[str, ...]) -> None:
    with Browser(size) as browser:
        browser.call("Page.navigate", url=f"{url}/asset-groups")
        time.sleep(6)
        state = json.dumps({"expanded": ",".join(f"global@global:{g}" for g in expanded)})
        browser.js(f"localStorage.setItem({json.dumps(GROUPS_KEY)}, {json.dumps(state)})")
        browser.js("localStorage.setItem('large-screen-nav-open', 'false')")
        browser.call("Page.reload")
        time.sleep(10)
        # the first visit asks to join a mailing list
        browser.js(CLICK_TEXT.format("b => b.innerText.trim() === 'Skip'"))
        time.sleep(2)
        data = browser.call("Page.captureScreenshot", format="png")["data"]
    # 64 colours are plenty for the UI and keep the file small enough for docs/
    image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default="http://127.0.0.1:3300")
    ap.add_argument("--out", type=Path, default=Path("reports"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    lineage(args.url, args.out / "dagster-asset-groups.png", "1700,950", ())
    lineage(args.url, args.out / "dagster-asset-graph.png", "2600,1500", DETAIL_GROUPS)


if __name__ == "__main__":
    main()
