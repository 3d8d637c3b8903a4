"""Keep an operator's CRD schemas in the repository: read CustomResourceDefinition YAML files and
write, for every served version, its openAPIV3Schema to k8s/schemas/<group>/<kind>_<version>.json.

    python k8s/tools/extract_crd_schemas.py CRD.yaml [CRD.yaml ...]

The schemas are the operators' own (Apache-2.0; see k8s/schemas/README.md for the releases they
come from) less their ``description`` texts, which validation does not read and which hold links
to upstream documentation. validate.py tightens them at load time (unknown fields are errors)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"


def without_descriptions(node: object) -> object:
    if isinstance(node, dict):
        return {k: without_descriptions(v) for k, v in node.items()
                if not (k == "description" and isinstance(v, str))}
    if isinstance(node, list):
        return [without_descriptions(v) for v in node]
    return node


def extract(path: Path) -> list[Path]:
    written = []
    for crd in yaml.safe_load_all(path.read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for version in spec["versions"]:
            if not version.get("served"):
                continue
            out = SCHEMAS / spec["group"] / f"{spec['names']['kind']}_{version['name']}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            schema = without_descriptions(version["schema"]["openAPIV3Schema"])
            out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            written.append(out)
    return written


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        for out in extract(Path(arg)):
            print(out.relative_to(SCHEMAS))
