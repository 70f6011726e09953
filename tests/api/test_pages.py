"""The results pages as HTML: what they show, escaping, and signing in with the token."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import TOKEN, RecordedExperiment, record_experiment


def _row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-trial-id="([^"]+)"', html)


def _stop_buttons(html: str) -> list[str]:
    return re.findall(r'data-stop-url="/api/experiments/cnn/trials/([^/]+)/stop"', html)


def test_experiments_page_links_each_experiment(client: TestClient, storage: Path) -> None:
    record_experiment(storage, "cnn")
    record_experiment(storage, "older", state="finished")

    response = client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert '<a href="/experiments/cnn">cnn</a>' in response.text
    assert '<a href="/experiments/older">older</a>' in response.text
    assert '<span class="state state-finished">finished</span>' in response.text


def test_experiments_page_without_experiments(client: TestClient, storage: Path) -> None:
    response = client.get("/")

    assert response.status_code == 200
    assert "No experiments yet" in response.text


def test_experiment_page_shows_leaderboard_best_first(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/experiments/cnn")

    assert response.status_code == 200
    assert _row_ids(response.text)[:3] == ["a0000001", "a0000002", "a0000004"]
    assert 'data-state="running"' in response.text
    assert 'src="/api/experiments/cnn/charts/progress.png"' in response.text
    assert 'href="/api/experiments/cnn/best/weights/model.keras"' in response.text


def test_experiment_page_stop_buttons_only_for_active_trials(client: TestClient, experiment: RecordedExperiment) -> None:
    html = client.get("/experiments/cnn").text

    assert sorted(_stop_buttons(html)) == ["a0000004", "a0000005"]


def test_experiment_page_without_stop_buttons_once_finished(client: TestClient, storage: Path) -> None:
    record_experiment(storage, "cnn", state="finished")

    html = client.get("/experiments/cnn").text

    assert _stop_buttons(html) == []
    assert 'data-state="finished"' in html


def test_experiment_page_sorted_by_column_link(client: TestClient, experiment: RecordedExperiment) -> None:
    html = client.get("/experiments/cnn").text
    assert 'href="?sort=config.filters&amp;order=desc"' in html

    sorted_html = client.get("/experiments/cnn", params={"sort": "config.filters", "order": "desc"}).text

    assert _row_ids(sorted_html) == ["a0000003", "a0000001", "a0000005", "a0000004", "a0000002"]


def test_experiment_page_filtered_by_status(client: TestClient, experiment: RecordedExperiment) -> None:
    html = client.get("/experiments/cnn", params={"status": "STOPPED"}).text

    assert _row_ids(html) == ["a0000002"]


def test_experiment_page_escapes_recorded_text(client: TestClient, experiment: RecordedExperiment) -> None:
    trials = experiment.store.read_trials()
    failed = pc.equal(trials["trial_id"], "a0000003")
    errors = pc.if_else(failed, pa.scalar("<script>alert(1)</script>"), trials["error"])
    experiment.store.write_table("trials.parquet", trials.set_column(trials.column_names.index("error"), "error", errors))

    html = client.get("/experiments/cnn").text

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_experiment_page_rejects_unknown_sort_column(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/experiments/cnn", params={"sort": "bogus"})

    assert response.status_code == 400
    assert "cannot sort by &#39;bogus&#39;" in response.text


def test_trial_page_shows_status_log_and_stop_button(client: TestClient, experiment: RecordedExperiment) -> None:
    response = client.get("/experiments/cnn/trials/a0000004")

    assert response.status_code == 200
    assert '<span class="status status-RUNNING" id="trial-status">RUNNING</span>' in response.text
    assert 'id="stop-trial" data-stop-url="/api/experiments/cnn/trials/a0000004/stop"' in response.text
    assert 'data-url="/api/experiments/cnn/trials/a0000004/log"' in response.text


def test_ended_trial_page_without_stop_button(client: TestClient, experiment: RecordedExperiment) -> None:
    html = client.get("/experiments/cnn/trials/a0000001").text

    assert 'id="stop-trial"' not in html
    assert "<tr><td>4</td>" in html


def test_login_page_has_form(client: TestClient) -> None:
    response = client.get("/login", params={"next": "/experiments/cnn"})

    assert response.status_code == 200
    assert '<input type="hidden" name="next" value="/experiments/cnn">' in response.text


def test_login_with_token_sets_cookie_and_redirects(client: TestClient) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": "/experiments/cnn"}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/experiments/cnn"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"tuner_token={TOKEN};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie


def test_login_with_wrong_token_refused(client: TestClient) -> None:
    response = client.post("/login", data={"token": "wrong-token-0123456789"}, follow_redirects=False)

    assert response.status_code == 401
    assert "Invalid token." in response.text
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "experiments"])
def test_login_never_redirects_off_site(client: TestClient, target: str) -> None:
    response = client.post("/login", data={"token": TOKEN, "next": target}, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_signed_in_cookie_lets_pages_stop_trials(client: TestClient, experiment: RecordedExperiment) -> None:
    client.post("/login", data={"token": TOKEN}, follow_redirects=False)

    response = client.post("/api/experiments/cnn/trials/a0000004/stop")

    assert response.status_code == 202
    assert experiment.store.stop_requests() == {"a0000004"}


def test_signed_in_cookie_opens_reads_when_exposed(exposed_client: TestClient, experiment: RecordedExperiment) -> None:
    assert exposed_client.get("/experiments/cnn").status_code == 401

    exposed_client.post("/login", data={"token": TOKEN}, follow_redirects=False)

    assert exposed_client.get("/experiments/cnn").status_code == 200
    assert exposed_client.get("/api/experiments/cnn/charts/progress.png").status_code == 200


def test_logout_forgets_cookie(client: TestClient, experiment: RecordedExperiment) -> None:
    client.post("/login", data={"token": TOKEN}, follow_redirects=False)

    response = client.post("/logout", follow_redirects=False)
    stop = client.post("/api/experiments/cnn/trials/a0000004/stop")

    assert response.status_code == 303
    assert stop.status_code == 401
