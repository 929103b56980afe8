"""Screenshots of the three tabs of ``ganzoo lab`` in a real headless browser, for the README.

    apt-get install chromium && pip install playwright   # the script's own needs, not ganzoo's
    python scripts/lab_screenshots.py --out docs/figures

Starts the lab on a free port in this process, drives Chromium with Playwright (the system
browser: nothing is downloaded) and writes lab-zoo.png, lab-training.png and lab-dirac.png.
"""
from __future__ import annotations

import argparse
import shutil
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

from ganzoo.lab import make_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/figures")
    parser.add_argument("--browser", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    parser.add_argument("--model", default="sngan-fashion-mnist")
    parser.add_argument("--train-seconds", type=float, default=25.0)
    args = parser.parse_args()
    if not args.browser:
        raise SystemExit("no Chromium found: apt-get install chromium (or pass --browser PATH)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    server, state = make_server(port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.browser, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 820})
            page.goto(url)
            page.wait_for_function("document.querySelectorAll('#model option').length > 0")
            page.select_option("#model", args.model)
            page.wait_for_function("document.getElementById('card').textContent.length > 0")
            page.wait_for_function("document.getElementById('grid').complete && document.getElementById('grid').naturalWidth > 0")
            page.wait_for_function("document.getElementById('strip').naturalWidth > 0")
            page.screenshot(path=str(out / "lab-zoo.png"))

            page.click("nav button[data-tab=train]")
            page.select_option("#dataset", "grid")
            page.click("#spectral_norm")
            page.click("#start")
            page.wait_for_timeout(args.train_seconds * 1000)
            page.click("#pause")
            page.wait_for_timeout(2500)  # one more poll: the plot of the paused state
            page.screenshot(path=str(out / "lab-training.png"))

            page.click("nav button[data-tab=dirac]")
            page.select_option("#method", "GAN + R1 gamma=0.3")
            page.click("#draw")
            page.wait_for_function("document.getElementById('dirac-status').textContent.includes('R1 gamma=0.3')")
            page.wait_for_timeout(1500)
            page.screenshot(path=str(out / "lab-dirac.png"))
            browser.close()
    finally:
        state.close()
        server.shutdown()
    print(f"wrote {out}/lab-zoo.png, lab-training.png, lab-dirac.png")


if __name__ == "__main__":
    main()
