"""The classroom notebook in a real browser: JupyterLab + headless Chromium.

Starts JupyterLab on 127.0.0.1 (a free port, a random token, a temporary root folder holding a
copy of notebooks/08_classroom_gridlock.ipynb), opens the notebook in Chromium driven by
Playwright, runs all cells, clicks the first Stepper's "Step 1" and checks that the tick label
and the queue chart changed, and that the browser console logged no error. Screenshots go to a
temporary folder (printed; kept by pytest under its basetemp) for a human to look at.

Skips when the `playwright` package (the `browser` extra), a Chromium binary (Debian:
`apt-get install chromium`) or JupyterLab is missing. Playwright drives the system Chromium
(no browser download).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(pip install -e '.[browser]')")
pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = "08_classroom_gridlock.ipynb"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-proxy-server"]


def chromium_path() -> str | None:
    for name in (os.environ.get("PSL_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                 shutil.which("chromium-browser")):
        if name and Path(name).is_file() and os.access(name, os.X_OK):
            return name
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base url, token, root folder) of a JupyterLab server serving a copy of the notebook."""
    if chromium_path() is None:
        pytest.skip("no Chromium binary (apt-get install chromium)")
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, root / NOTEBOOK)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    for var, sub in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTERLAB_SETTINGS_DIR", "settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "workspaces")):
        env[var] = str(base / sub)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--ServerApp.terminals_enabled=False"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")          # CI runs as root
    log = open(base / "jupyterlab.log", "w")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))   # never a proxy
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                direct.open(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n"
                                + (base / "jupyterlab.log").read_text()[-3000:])
                time.sleep(0.5)
        yield url, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {folder}")
    return folder


def kernel_status_is(status: str) -> str:
    return (f'() => document.querySelector(".jp-Notebook-ExecutionIndicator")'
            f'?.getAttribute("data-status") === "{status}"')


def last_code_cell_ran(page) -> bool:
    prompts = page.locator(".jp-CodeCell .jp-InputPrompt")
    return prompts.count() > 0 and bool(re.search(r"\[\d+\]", prompts.last.inner_text()))


def run_all_cells(page) -> None:
    """Run > Run All Cells, then wait until the kernel has run them and is idle again. A
    request sent while the kernel is still starting can be dropped, so it is repeated."""
    for _attempt in range(3):
        page.wait_for_function(kernel_status_is("idle"), timeout=120_000)
        page.wait_for_timeout(2000)      # let the session settle before the request
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(kernel_status_is("busy"), timeout=15_000)
        except sync_api.TimeoutError:
            pass
        page.wait_for_function(kernel_status_is("idle"), timeout=300_000)
        page.wait_for_timeout(500)
        if last_code_cell_ran(page):
            return
    raise AssertionError("Run All Cells did not run the notebook")


def dismiss_notifications(page) -> None:
    """Answer JupyterLab's first-run question about news, so no toast covers the cells."""
    button = page.locator(".jp-toast-button", has_text="No")
    if button.count():
        button.first.click()


#: Points plotly.js drew in the first chart under ``el`` (its decoded, full trace data; the
#: input arrays may be typed-array specs).
POINTS_JS = """el => { const plot = el.querySelector('.js-plotly-plot');
                       if (!plot || !plot._fullData) return -1;
                       return plot._fullData.reduce((n, t) => n + (t._length || 0), 0); }"""


def queue_points(stepper) -> int:
    """Points drawn in the stepper's first chart (the queues)."""
    return stepper.evaluate(POINTS_JS)


def test_classroom_notebook_runs_and_the_stepper_steps(lab, shots):
    url, token, root = lab
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/lab/tree/{NOTEBOOK}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
            run_all_cells(page)
            dismiss_notifications(page)
            page.screenshot(path=str(shots / "after_run_all.png"))
            stepper = page.locator(".psl-stepper").first
            stepper.wait_for(state="attached", timeout=120_000)
            # cells out of view are not laid out (JupyterLab windowing): bring it into view
            stepper.scroll_into_view_if_needed()
            stepper.locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            stepper.screenshot(path=str(shots / "stepper_before.png"))
            assert "no tick has run yet" in stepper.inner_text()
            assert queue_points(stepper) == 0
            width = stepper.locator(".js-plotly-plot").first.bounding_box()["width"]
            cell_width = page.locator(".jp-Cell-outputArea").first.bounding_box()["width"]
            assert width > 0.8 * cell_width, (width, cell_width)     # charts use the cell

            stepper.locator("button", has_text="Step 1").first.click()
            page.wait_for_function(
                """el => el.innerText.includes('tick 0 (day 0)')""",
                arg=stepper.element_handle(), timeout=60_000)
            page.wait_for_function(f"el => ({POINTS_JS})(el) > 0",
                                   arg=stepper.element_handle(), timeout=60_000)
            page.wait_for_timeout(1000)
            stepper.screenshot(path=str(shots / "stepper_after_step.png"))
            assert "no tick has run yet" not in stepper.inner_text()
            assert queue_points(stepper) > 0
            page.screenshot(path=str(shots / "notebook.png"))
            dash = page.locator(".psl-dashboard").first
            dash.wait_for(state="attached", timeout=60_000)
            dash.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(shots / "dashboard.png"))
            assert "urgency_threshold 3 → 10" in dash.inner_text()
        except Exception:
            page.screenshot(path=str(shots / "failure.png"))
            print("console errors:", errors)
            raise
        finally:
            browser.close()
    assert errors == [], errors
