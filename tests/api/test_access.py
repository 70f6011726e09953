"""Every route: success, not found, and refused without the token where the token is needed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from tests.api.conftest import AUTHORIZATION, RecordedExperiment

# Routes under one experiment; {trial} is the finished best trial, which has a log and a checkpoint.
EXPERIMENT_ROUTES = [
    "/api/experiments/{name}",
    "/api/experiments/{name}/leaderboard",
    "/api/experiments/{name}/trials/{trial}",
    "/api/experiments/{name}/trials/{trial}/log",
    "/api/experiments/{name}/best/weights",
    "/api/experiments/{name}/best/weights/model.keras",
    "/api/experiments/{name}/trials/{trial}/files",
    "/api/experiments/{name}/trials/{trial}/files/stdout",
    "/api/experiments/{name}/trials/{trial}/archive.zip",
    "/api/experiments/{name}/archive.zip",
    "/api/experiments/{name}/results.csv",
    "/api/experiments/{name}/results.parquet",
    "/api/experiments/{name}/trials.csv",
    "/api/experiments/{name}/trials.parquet",
    "/api/experiments/{name}/charts/progress.png",
    "/api/experiments/{name}/charts/hyperparameters.png",
    "/api/experiments/{name}/charts/learning-curves.png",
    "/experiments/{name}",
    "/experiments/{name}/trials/{trial}",
]
STORAGE_ROUTES = ["/api/experiments", "/"]
TRIAL_ROUTES = [route for route in EXPERIMENT_ROUTES if "{trial}" in route]
MISSING_TOKEN = (
    "this request needs the service's token: send the header 'Authorization: Bearer <token>', "
    "or sign in on the results page"
)


def _url(route: str, name: str = "cnn", trial: str = "a0000001") -> str:
    return route.format(name=name, trial=trial)


@pytest.mark.parametrize("route", STORAGE_ROUTES + EXPERIMENT_ROUTES)
def test_read_route_open_on_loopback(client: TestClient, experiment: RecordedExperiment, route: str) -> None:
    response = client.get(_url(route))

    assert response.status_code == 200, response.text
    assert len(response.content) > 0


@pytest.mark.parametrize("route", STORAGE_ROUTES + EXPERIMENT_ROUTES)
def test_read_route_needs_token_when_exposed(
    exposed_client: TestClient, experiment: RecordedExperiment, route: str
) -> None:
    response = exposed_client.get(_url(route))

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    if route.startswith("/api/"):
        assert response.json() == {"detail": MISSING_TOKEN}
    else:
        assert str(escape(MISSING_TOKEN)) in response.text
        assert 'action="/login"' in response.text


@pytest.mark.parametrize("route", STORAGE_ROUTES + EXPERIMENT_ROUTES)
def test_read_route_rejects_wrong_token_when_exposed(
    exposed_client: TestClient, experiment: RecordedExperiment, route: str
) -> None:
    response = exposed_client.get(_url(route), headers={"Authorization": "Bearer wrong-token-0123456789"})

    assert response.status_code == 401
    if route.startswith("/api/"):
        assert response.json() == {"detail": "invalid token"}


@pytest.mark.parametrize("route", STORAGE_ROUTES + EXPERIMENT_ROUTES)
def test_read_route_accepts_token_when_exposed(
    exposed_client: TestClient, experiment: RecordedExperiment, route: str
) -> None:
    response = exposed_client.get(_url(route), headers=AUTHORIZATION)

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("route", EXPERIMENT_ROUTES)
def test_experiment_route_not_found_for_unknown_experiment(
    client: TestClient, experiment: RecordedExperiment, route: str
) -> None:
    response = client.get(_url(route, name="unknown"))

    assert response.status_code == 404
    if route.startswith("/api/"):
        assert response.json() == {"detail": "experiment 'unknown' not found"}


@pytest.mark.parametrize("name", [".hidden", "a b", "-leading-dash", "x" * 101, "%2e%2e", "a%00b"])
@pytest.mark.parametrize("route", EXPERIMENT_ROUTES)
def test_experiment_route_not_found_for_invalid_name(
    client: TestClient, experiment: RecordedExperiment, route: str, name: str
) -> None:
    response = client.get(_url(route, name=name))

    assert response.status_code == 404


@pytest.mark.parametrize("route", TRIAL_ROUTES)
def test_trial_route_not_found_for_unknown_trial(
    client: TestClient, experiment: RecordedExperiment, route: str
) -> None:
    response = client.get(_url(route, trial="b0000009"))

    assert response.status_code == 404
    if route.startswith("/api/"):
        assert response.json() == {"detail": "trial 'b0000009' not found in experiment 'cnn'"}


@pytest.mark.parametrize("trial", ["%2e%2e", "A0000001", "a000000", "a0000001x", "a0000%2F01", "a0000_1"])
@pytest.mark.parametrize("route", TRIAL_ROUTES)
def test_trial_route_not_found_for_invalid_trial_id(
    client: TestClient, experiment: RecordedExperiment, route: str, trial: str
) -> None:
    response = client.get(_url(route, trial=trial))

    assert response.status_code == 404


def test_variant_generator_trial_ids_accepted(client: TestClient, experiment: RecordedExperiment) -> None:
    # Ray Tune's own variant generator names trials <5 hex>_<counter>; such an id passes the
    # pattern and is then looked up like any other.
    response = client.get("/api/experiments/cnn/trials/6dfe5_00000")

    assert response.status_code == 404
    assert response.json() == {"detail": "trial '6dfe5_00000' not found in experiment 'cnn'"}


def test_unknown_route_is_not_found(client: TestClient) -> None:
    response = client.get("/api/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_openapi_documents_every_api_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    documented = set(paths)
    for route in EXPERIMENT_ROUTES + STORAGE_ROUTES:
        if route.startswith("/api/"):
            assert route.replace("{trial}", "{trial_id}").replace("files/stdout", "files/{path}").replace(
                "weights/model.keras", "weights/{filename}"
            ) in documented
    assert "post" in paths["/api/experiments/{name}/trials/{trial_id}/stop"]


def test_docs_page_loads_swagger_from_service(client: TestClient) -> None:
    page = client.get("/docs")
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    style = client.get("/docs-assets/swagger-ui.css")

    assert page.status_code == 200
    assert "/docs-assets/swagger-ui-bundle.js" in page.text
    assert "/docs-assets/swagger-ui.css" in page.text
    assert "https://" not in page.text
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text
    assert style.status_code == 200
    assert style.headers["content-type"].startswith("text/css")
