"""Fixtures for the JupyterLab browser tests (``make test-browser``; not part of ``make test``).

``lab``: a JupyterLab server from this venv on 127.0.0.1 (free port, random token), serving a
temporary COPY of notebooks/ with temporary settings, workspace, runtime, config and data
directories. ``browser``: Debian's Chromium driven by Playwright (never ``playwright install``).
``page``: a fresh browser context per test; its kernels are shut down afterwards.
Every wait is bounded; server, kernels and browser are stopped whatever happens.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
SCREENSHOTS_DIR = REPO / "reports" / "screenshots"
CHROMIUM = os.environ.get("OCOP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic"]
SERVER_START_S = 120    # jupyter lab answering /api/status
SERVER_STOP_S = 20      # graceful stop before SIGKILL

# Lab settings for the test run: every cell stays in the DOM (no virtual scrolling, so cells and
# outputs can be counted), and no news/update requests or prompts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                          "checkForUpdates": False},
}


@dataclass
class Lab:
    url: str          # http://127.0.0.1:PORT
    token: str
    root: Path        # the served copy of notebooks/
    log: Path

    def api(self, method: str, path: str, timeout: float = 10):
        req = urllib.request.Request(f"{self.url}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """Shut down every running kernel (each test opens its own; they would pile up)."""
        try:
            for kernel in self.api("GET", "/api/kernels"):
                self.api("DELETE", f"/api/kernels/{kernel['id']}", timeout=30)
        except (OSError, urllib.error.URLError, ValueError):
            pass  # the server is gone already; its teardown handles what is left

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pids_using(marker: str) -> list[int]:
    """Processes whose command line mentions ``marker`` (our unique temp dir): stray kernels."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _stop(proc: subprocess.Popen, marker: str) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), SIGKILL if it lingers, then
    SIGKILL any kernel still running from our runtime dir (kernels run in their own sessions)."""
    for sig, wait in ((signal.SIGTERM, SERVER_STOP_S), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    for pid in _pids_using(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "notebooks"
    shutil.copytree(NOTEBOOKS_DIR, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings"
    for rel, values in LAB_SETTINGS.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    runtime = base / "runtime"
    env = dict(os.environ,
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
               JUPYTER_RUNTIME_DIR=str(runtime),
               JUPYTER_CONFIG_DIR=str(base / "config"),   # no user config
               JUPYTER_DATA_DIR=str(base / "data"),       # no user kernelspecs: python3 = this venv
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.allow_root=True", "--LabApp.expose_app_in_browser=True",
           "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = base / "jupyterlab.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                server.api("GET", "/api/status", timeout=5)
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab not answering after {SERVER_START_S} s:\n{server.log_tail()}")
                time.sleep(0.5)
        yield server
    finally:
        _stop(proc, str(runtime))


@pytest.fixture(scope="session")
def browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test-browser` installs Debian's chromium "
                    "(apt-get install -y chromium), or set OCOP_CHROMIUM")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1, locale="vi-VN")
    try:
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        pg.set_default_navigation_timeout(60_000)
        pg.page_errors = []   # uncaught exceptions in the page
        pg.on("pageerror", lambda exc: pg.page_errors.append(str(exc)))
        yield pg
    finally:
        context.close()
        lab.shutdown_kernels()
