"""Fixtures for the browser tests: Chromium through Playwright, JupyterLab and Voila servers.

Every test here is marked `browser`. Without /usr/bin/chromium (or the playwright package)
they are skipped with the reason, except in CI (environment variable CI set), where a
missing browser is a failure: CI installs it (.ci/run).
"""
import os
import shutil
from pathlib import Path

import pytest

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, OUTPUT_DIR, REPO, new_context, start_jupyterlab, start_voila

# The notebooks in tests/browser/notebooks/ are opened by the tests, not collected by nbval.
collect_ignore_glob = ["notebooks/*", "jupyter_config/*"]


def _missing_browser() -> str:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (pip install -r requirements-dev.txt)"
    return ""


@pytest.fixture(scope="session")
def chromium_path():
    why = _missing_browser()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(f"browser tests skipped: {why}")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in [*OUTPUT_DIR.glob("*.png"), *OUTPUT_DIR.glob("first-chart.txt")]:  # this run's only
        old.unlink()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=60_000)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = new_context(browser)
    p = context.new_page()
    try:
        yield p
    finally:
        context.close()


@pytest.fixture(scope="session")
def jupyterlab(chromium_path):
    """A JupyterLab server on the repository root (test-only config); stopped at the end."""
    server, tmp = start_jupyterlab()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def voila(chromium_path):
    """Voila serving class mode (what `make class-mode` runs); every page gets its own kernel."""
    server, tmp = start_voila(REPO / "class_mode" / "class_mode.ipynb")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
