"""The results pages in headless Chromium while a real experiment runs: watching it, signing in, stopping trials.

Needs Debian's chromium package, which `make test` installs, and the playwright package. Playwright
drives the chromium binary given here, so its own browser download is never used.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import TOKEN, LiveServer
from tests.background import BackgroundRun
from tuner.spec import load_experiment
from tuner.store import ExperimentStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 90_000


@pytest.mark.slow
@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed; `make test` installs it with apt-get"
)
def test_page_shows_running_experiment_and_stops_trials(
    ray_session: Any, make_spec_file: Any, live_server: LiveServer, storage: Path, tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    path = make_spec_file(
        {
            "name": "browser",
            "trainable": {"name": "tests.trainables_for_tests:printing_epochs", "args": {"max_epochs": 1200}},
            "trials": 2,
            "slots": 2,
            "storage": str(storage),
        }
    )
    run = BackgroundRun(load_experiment(path))
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page()

            page.goto(f"{live_server.url}/")
            page.get_by_role("link", name="browser", exact=True).click()
            # The page refreshes itself while the experiment runs, so the rows turn RUNNING.
            expect(page.locator("td.status-RUNNING")).to_have_count(2, timeout=WAIT_MS)

            page.get_by_role("link", name="Sign in").click()
            page.locator("#token").fill(TOKEN)
            page.get_by_role("button", name="Sign in").click()
            expect(page).to_have_url(f"{live_server.url}/experiments/browser")
            first, second = page.locator("tr[data-trial-id]").evaluate_all("rows => rows.map(row => row.dataset.trialId)")

            page.locator("#leaderboard").get_by_role("link", name=first, exact=True).click()
            expect(page.locator("#log")).to_contain_text("epoch ", timeout=WAIT_MS)
            page.locator("#stop-trial").click()
            expect(page.locator("#message")).to_contain_text(f"stop requested; trial {first} ends as STOPPED")
            expect(page.locator("#trial-status")).to_have_text("STOPPED", timeout=WAIT_MS)
            page.screenshot(path=str(tmp_path / "trial-stopped.png"), full_page=True)

            page.goto(f"{live_server.url}/experiments/browser")
            page.locator(f'tr[data-trial-id="{second}"] button[data-stop-url]').click()
            expect(page.locator(f'tr[data-trial-id="{second}"] td.status')).to_have_text("STOPPED", timeout=WAIT_MS)
            expect(page.locator("#experiment-state")).to_have_text("finished", timeout=WAIT_MS)
            browser.close()
    except BaseException:
        # Stop every trial, so that the run ends with the failed test instead of running on.
        store = ExperimentStore(str(storage), "browser")
        if store.file_info("trials.parquet") is not None:
            for trial_id in store.read_trials()["trial_id"].to_pylist():
                store.request_stop(trial_id)
        run.join(120)
        raise
    summary = run.join(120)

    rows = {row["trial_id"]: row for row in ExperimentStore(str(storage), "browser").read_trials().to_pylist()}
    assert summary.n_stopped == 2
    assert rows[first]["status"] == "STOPPED"
    assert rows[second]["status"] == "STOPPED"
    assert rows[first]["n_epochs"] < 1200
    assert rows[second]["n_epochs"] < 1200
