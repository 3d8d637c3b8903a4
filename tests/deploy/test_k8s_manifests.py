"""make k8s-validate: both overlays pass, and every check fails on a manifest broken on purpose."""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"k8s_tools_{name}", ROOT / "k8s" / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = module  # type: ignore[union-attr]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


validate = _load("validate")
generate = _load("generate")
pytestmark = pytest.mark.skipif(validate.renderer() is None, reason=validate.MISSING_RENDERER)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: validate.render(validate.OVERLAYS / overlay) for overlay in ("dev", "prod")}


@pytest.fixture
def prod(rendered) -> list[dict]:
    return copy.deepcopy(rendered["prod"])


def find(docs: list[dict], kind: str, name: str) -> dict:
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def main_container(docs: list[dict], service: str) -> dict:
    return find(docs, "Deployment", service)["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_overlay_renders_and_passes_every_check(rendered, overlay):
    results = validate.check_overlay(validate.OVERLAYS / overlay, copy.deepcopy(rendered[overlay]))
    assert results == {check: [] for check in ("schemas", *validate.PROJECT_CHECKS)}


def test_the_generated_files_follow_the_code():
    assert generate.main(["--check"]) == 0


def test_prod_runs_several_replicas_autoscaled_on_cpu_and_lag_with_budgets_and_spread(rendered):
    prod = rendered["prod"]
    for service in ("portal", "registry", "inspection", "scoring", "enforcement"):
        deployment = find(prod, "Deployment", service)
        assert deployment["spec"]["replicas"] >= 2
        assert {c["topologyKey"] for c in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]} == {
            "topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        assert find(prod, "PodDisruptionBudget", service)["spec"]["maxUnavailable"] == 1
        metrics = {m["type"] for m in find(prod, "HorizontalPodAutoscaler", service)["spec"]["metrics"]}
        assert metrics == ({"Resource"} if service == "registry" else {"Resource", "External"})
    assert {d["metadata"]["name"] for d in rendered["dev"] if d["kind"] == "KafkaNodePool"} == {"dual"}
    assert find(rendered["dev"], "Cluster", "safegrid-pg")["spec"]["instances"] == 1


# -- each check, on a manifest broken on purpose --------------------------------------------------

def test_schemas_refuse_a_built_in_field_of_the_wrong_type(prod):
    main_container(prod, "registry")["ports"][0]["containerPort"] = "eight thousand"
    assert any("Deployment/registry" in p and "containerPort" in p for p in validate.check_schemas(prod))


def test_schemas_refuse_an_unknown_built_in_field(prod):
    main_container(prod, "registry")["livenessProbe"]["httpGett"] = {"path": "/healthz"}
    assert any("httpGett" in p for p in validate.check_schemas(prod))


def test_schemas_refuse_an_operator_field_of_the_wrong_type_and_an_unknown_one(prod):
    find(prod, "KafkaTopic", "scoring-scores")["spec"]["partitions"] = "six"
    find(prod, "Cluster", "safegrid-pg")["spec"]["instancez"] = 3
    problems = validate.check_schemas(prod)
    assert any("KafkaTopic/scoring-scores: spec/partitions" in p for p in problems)
    assert any("Cluster/safegrid-pg" in p and "instancez" in p for p in problems)


def test_schemas_refuse_the_gone_strimzi_v1beta2_api(prod):
    find(prod, "Kafka", "safegrid-kafka")["apiVersion"] = "kafka.strimzi.io/v1beta2"
    assert any("no CRD schema for kafka.strimzi.io/v1beta2 Kafka" in p for p in validate.check_schemas(prod))


@pytest.mark.parametrize(("breakage", "expected"), [
    (lambda c, pod: c.pop("readinessProbe"), "readinessProbe missing"),
    (lambda c, pod: c.pop("startupProbe"), "startupProbe missing"),
    (lambda c, pod: c["livenessProbe"]["httpGet"].update(path="/readyz"), "livenessProbe does not GET /healthz"),
    (lambda c, pod: c["resources"].pop("limits"), "no limits.cpu"),
    (lambda c, pod: c["securityContext"].update(readOnlyRootFilesystem=False), "readOnlyRootFilesystem"),
    (lambda c, pod: c["securityContext"].update(allowPrivilegeEscalation=True), "allowPrivilegeEscalation"),
    (lambda c, pod: c["securityContext"]["capabilities"].update(drop=[]), "do not drop ALL"),
    (lambda c, pod: pod["securityContext"].pop("seccompProfile"), "seccompProfile"),
    (lambda c, pod: pod["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
    (lambda c, pod: pod.update(terminationGracePeriodSeconds=20), "longer than the consumers' shutdown"),
    (lambda c, pod: pod.pop("initContainers"), "no init container runs `safegrid migrate --service scoring`"),
    (lambda c, pod: c.update(volumeMounts=[]), "/tmp is not a writable emptyDir"),
    (lambda c, pod: c.update(args=["serve", "registry"]), "does not run `safegrid serve scoring`"),
    (lambda c, pod: c.update(image="safegrid"), "is not pinned to a tag or digest"),
], ids=["readiness", "startup", "liveness-path", "limits", "ro-rootfs", "escalation", "caps", "seccomp", "nonroot",
        "grace", "migrate", "tmp", "command", "image"])
def test_deployment_check_fails_on_each_missing_guard(prod, breakage, expected):
    deployment = find(prod, "Deployment", "scoring")
    breakage(deployment["spec"]["template"]["spec"]["containers"][0], deployment["spec"]["template"]["spec"])
    problems = validate.check_deployments(prod)
    assert any(p.startswith("Deployment/scoring") and expected in p for p in problems), problems


def test_deployment_check_fails_when_a_catalogue_service_has_no_deployment(prod):
    prod.remove(find(prod, "Deployment", "portal"))
    assert "Deployment/portal: missing for catalogue service portal" in validate.check_deployments(prod)


def test_topic_check_fails_on_a_missing_topic_or_dlq_and_on_prod_durability(prod):
    prod.remove(find(prod, "KafkaTopic", "inspection-records-dlq"))
    prod.remove(find(prod, "KafkaTopic", "portal-ratings"))
    find(prod, "KafkaTopic", "scoring-scores")["spec"]["config"]["min.insync.replicas"] = 1
    problems = validate.check_topics(prod, replicas=3, min_insync=2)
    assert "KafkaTopic for inspection.records.dlq: missing (the code's catalogue names it)" in problems
    assert "KafkaTopic for portal.ratings: missing (the code's catalogue names it)" in problems
    assert "KafkaTopic scoring.scores: min.insync.replicas 1, expected 2" in problems


def _acls(docs: list[dict], service: str) -> list[dict]:
    return find(docs, "KafkaUser", f"safegrid-{service}")["spec"]["authorization"]["acls"]


def test_acl_check_fails_when_a_producer_may_not_write_its_topic(prod):
    acls = _acls(prod, "inspection")
    acls[:] = [a for a in acls if a["resource"].get("name") != "inspection.records"
               or "Write" not in a["operations"]]
    assert "KafkaUser/safegrid-inspection: may not write inspection.records, which it produces" in \
        validate.check_acls(prod)


def test_acl_check_fails_when_a_service_may_write_another_services_topic(prod):
    _acls(prod, "enforcement").append({"type": "allow", "operations": ["Write"],
                                       "resource": {"type": "topic", "name": "scoring.", "patternType": "prefix"}})
    assert "KafkaUser/safegrid-enforcement: may write scoring.scores, another service's topic" in \
        validate.check_acls(prod)


def test_acl_check_fails_when_a_consumer_may_not_read_its_topics_groups_or_dead_letter(prod):
    acls = _acls(prod, "scoring")
    acls[:] = [a for a in acls if a["resource"]["type"] != "group" and
               a["resource"].get("name") not in ("inspection.records", "registry.accidents.dlq")]
    problems = validate.check_acls(prod)
    assert "KafkaUser/safegrid-scoring: may not read inspection.records, which it consumes" in problems
    assert "KafkaUser/safegrid-scoring: may not dead-letter to registry.accidents.dlq" in problems
    assert "KafkaUser/safegrid-scoring: may not use its consumer groups safegrid.scoring.*" in problems


def _env(docs: list[dict], service: str) -> list[dict]:
    return main_container(docs, service)["env"]


def test_settings_check_fails_when_a_production_setting_is_provided_by_nothing(prod):
    del find(prod, "ConfigMap", "safegrid-config")["data"]["SAFEGRID_JWT_JWKS_URL"]
    problems = validate.check_settings(prod)
    assert "Deployment/portal: SAFEGRID_JWT_JWKS_URL is provided by no ConfigMap or Secret reference" in problems


def test_settings_check_fails_when_a_secret_is_a_literal(prod):
    env = _env(prod, "registry")
    env[:] = [e for e in env if e["name"] != "SAFEGRID_REGISTRY_ID_HASH_KEY"]
    env.append({"name": "SAFEGRID_REGISTRY_ID_HASH_KEY", "value": "committed-by-mistake"})
    assert "Deployment/registry: SAFEGRID_REGISTRY_ID_HASH_KEY must come from a Secret reference, not a literal" in \
        validate.check_settings(prod)


def test_settings_check_fails_when_the_services_own_settings_refuse_the_environment(prod):
    # HS256 with no secret of its own: shared/config.py refuses to start in production.
    find(prod, "ConfigMap", "safegrid-config")["data"]["SAFEGRID_JWT_ALGORITHM"] = "HS256"
    problems = validate.check_settings(prod)
    assert any(p.startswith("Deployment/scoring: the service's settings refuse") for p in problems)
    assert "Deployment/scoring: SAFEGRID_JWT_ALGORITHM is 'HS256', production needs 'RS256'" in problems


def test_settings_check_fails_on_a_missing_service_specific_setting_and_on_an_opaque_secret_ref(prod):
    del find(prod, "ConfigMap", "safegrid-inspection")["data"]["SAFEGRID_INSPECTION_BLOB_STORE"]
    main_container(prod, "enforcement")["envFrom"].append({"secretRef": {"name": "everything"}})
    problems = validate.check_settings(prod)
    assert "Deployment/inspection: SAFEGRID_INSPECTION_BLOB_STORE is provided by no ConfigMap or Secret reference" \
        in problems
    assert any(p.startswith("Deployment/enforcement: envFrom secretRef everything hides") for p in problems)


def test_network_check_fails_without_default_deny_a_services_policy_or_with_another_service_exposed(prod):
    prod.remove(find(prod, "NetworkPolicy", "default-deny-ingress"))
    prod.remove(find(prod, "NetworkPolicy", "scoring"))
    ingress = find(prod, "Ingress", "portal")
    registry = {"service": {"name": "registry", "port": {"name": "http"}}}
    ingress["spec"]["rules"][0]["http"]["paths"].append({"path": "/admin", "pathType": "Prefix", "backend": registry})
    ingress["metadata"]["annotations"] = {}
    assert validate.check_network(prod) == [
        "NetworkPolicy: no default deny of ingress for every pod of the namespace",
        "NetworkPolicy for scoring: missing, or not restricting both ingress and egress",
        "Ingress/portal: exposes registry; only the portal may be reachable from outside",
        "Ingress/portal: no rate limit on the public routes",
    ]


def test_secret_check_fails_on_a_secret_value_in_the_manifests(prod):
    prod.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "safegrid-app"},
                 "stringData": {"cursor-secret": "oops"}})
    assert validate.check_no_secret_values(prod) == [
        "Secret/safegrid-app: a Secret with values is in the manifests (create it out of band)"]


def test_the_target_says_how_to_get_a_renderer_when_there_is_none(monkeypatch, capsys):
    monkeypatch.setattr(validate, "renderer", lambda: None)
    assert validate.main([]) == 2
    assert "make install" in capsys.readouterr().err
