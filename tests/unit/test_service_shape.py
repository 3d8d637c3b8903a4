"""The house rules that hold the layout together (README, "The service template"): every service
has the same files, pure code is pure, and ``shared/`` depends on nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from services.catalog import SERVICES

ROOT = Path(__file__).resolve().parents[2]
EVERY_SERVICE = ("__init__.py", "main.py", "config.py", "models.py", "migrations/env.py")
SERVING_SERVICE = ("context.py", "access.py", "errors.py")  # once it answers any route of its own
AGGREGATE = ("router.py", "schemas.py", "service.py", "repository.py")
TOP_LEVEL = {
    "__init__.py", "main.py", "config.py", "context.py", "access.py", "models.py", "errors.py", "events.py",
    "consumers.py", "jobs.py", "cli.py", "domain", "migrations", *AGGREGATE,
}
# Named extras, each with its reason: what a service ships besides the template.
EXTRAS = {
    "registry": {"API.md", "data", "demo.py"},  # API guide; the packaged 日照市 tree; the demo city
    "scoring": {"MODEL.md", "model_files", "workers.py"},  # the model format; the default model; the rescore pool
    "enforcement": {"policy_files"},  # the versioned alert policy (domain.md §10)
}
IMPURE_MODULES = ("sqlalchemy", "fastapi", "starlette", "aiokafka", "httpx", "services", "shared.app",
                  "shared.db", "shared.context")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def entries(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir() if p.name != "__pycache__"}


def aggregates(service_dir: Path) -> list[Path]:
    return [p for p in sorted(service_dir.iterdir())
            if p.is_dir() and p.name not in ("domain", "migrations", "__pycache__") and (p / "__init__.py").exists()]


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_every_service_has_the_template_files_and_nothing_unnamed(service):
    directory = ROOT / "services" / service
    missing = [name for name in EVERY_SERVICE if not (directory / name).exists()]
    assert not missing, f"{service} lacks {missing}"
    subpackages = aggregates(directory)
    serves = (directory / "router.py").exists() or any((p / "router.py").exists() for p in subpackages)
    if serves:
        missing = [name for name in SERVING_SERVICE if not (directory / name).exists()]
        assert not missing, f"{service} serves routes but lacks {missing}"
    unnamed = entries(directory) - TOP_LEVEL - EXTRAS.get(service, set()) - {p.name for p in subpackages}
    assert not unnamed, f"{service} has files outside the template: {sorted(unnamed)} (README, 'The service template')"


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_each_aggregate_package_has_the_same_file_names(service):
    directory = ROOT / "services" / service
    for package in aggregates(directory):
        if not (package / "router.py").exists():
            continue
        missing = [name for name in AGGREGATE if not (package / name).exists()]
        assert not missing, f"{service}/{package.name} lacks {missing}"
    if aggregates(directory):
        assert not (directory / "router.py").exists(), f"{service}: routes live in its aggregate packages"


@pytest.mark.parametrize("service", [s.name for s in SERVICES])
def test_domain_code_is_pure(service):
    domain = ROOT / "services" / service / "domain"
    modules = list(domain.rglob("*.py")) if domain.is_dir() else []
    modules += [p for p in (ROOT / "services" / service).glob("domain.py")]
    for module in modules:
        own = f"services.{service}.domain"  # its siblings are pure too
        impure = {name for name in imports_of(module) if name.startswith(IMPURE_MODULES) and not name.startswith(own)}
        assert not impure, f"{module.relative_to(ROOT)} is domain code but imports {sorted(impure)}"


def test_shared_depends_on_nothing_above_it():
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in imports_of(p) if n.split(".")[0] in ("services", "tests"))
                 for p in (ROOT / "shared").rglob("*.py")}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_no_vocabulary_is_declared_twice():
    """A service that redeclares a vocabulary (a venue type, a grade, a management fact) breaks
    silently the day the other side adds a value; it imports it from shared.contracts.vocabulary."""
    from shared.contracts import vocabulary

    vocabulary_path = Path(vocabulary.__file__).resolve()
    names = {name for name in vars(vocabulary) if not name.startswith("_") and name[0].isupper()}
    redeclared = []
    for path in [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        if path.resolve() == vocabulary_path or "migrations" in path.parts:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) else []
            redeclared += [f"{path.relative_to(ROOT)}: {t.id}" for t in targets
                           if isinstance(t, ast.Name) and t.id in names]
    assert redeclared == []
