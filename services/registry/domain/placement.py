"""Where an enterprise sits in the jurisdiction tree (三级网络、网格化): nodes, their boxes, the
grid a point falls in, and the checks a jurisdiction file must pass. Division-code arithmetic
is ``shared.locality``'s."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.registry.domain.violations import Violation
from shared.locality import in_jurisdiction, level_of, parent_of


@dataclass(frozen=True)
class Bounds:
    """A bounding box (WGS 84) that a node's points must lie in."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon

    def area(self) -> float:
        return (self.max_lat - self.min_lat) * (self.max_lon - self.min_lon)

    def within(self, other: Bounds) -> bool:
        return (other.min_lat <= self.min_lat and self.max_lat <= other.max_lat
                and other.min_lon <= self.min_lon and self.max_lon <= other.max_lon)

    def describe(self) -> str:
        return f"lat {self.min_lat}..{self.max_lat}, lon {self.min_lon}..{self.max_lon}"


@dataclass(frozen=True)
class Placement:
    """Where an enterprise sits: the node it was registered under and, when known, its grid."""

    jurisdiction_code: str
    grid_code: str | None

    @property
    def division_code(self) -> str:
        """The most specific node known: what access checks and subtree filters read."""
        return self.grid_code or self.jurisdiction_code


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: str
    bounds: Bounds | None


def node_of(row: Any) -> Node | None:
    """The pure form of a jurisdiction row (anything with its columns); None for None."""
    if row is None:
        return None
    bounds = None
    if None not in (row.min_lat, row.max_lat, row.min_lon, row.max_lon):
        bounds = Bounds(row.min_lat, row.max_lat, row.min_lon, row.max_lon)  # type: ignore[arg-type]
    return Node(row.code, row.name, row.level, bounds)


def place_enterprise(jurisdiction: Node | None, grid: Node | None, grid_code: str | None,
                     location: tuple[float, float] | None, grids_under: Iterable[Node] = ()) -> tuple[
                         Placement | None, list[Violation]]:
    """Check an enterprise's jurisdiction, grid and coordinates against the tree.

    ``grids_under`` are the grids below the jurisdiction: when no grid is given and the
    coordinates fall in one of them, that grid is assigned (the smallest box wins)."""
    if jurisdiction is None:
        return None, [Violation("jurisdiction_code", "unknown jurisdiction")]
    violations: list[Violation] = []
    if grid_code is not None:
        if grid is None:
            violations.append(Violation("grid_code", "unknown grid"))
        elif grid.level != "grid":
            violations.append(Violation("grid_code", f"{grid.code} is a {grid.level}, not a grid"))
        elif not in_jurisdiction(jurisdiction.code, grid.code):
            violations.append(Violation("grid_code", f"grid {grid.code} does not lie in {jurisdiction.code}"))
    if jurisdiction.level == "grid":
        grid = jurisdiction
    if violations:
        return None, violations
    most_specific = grid or jurisdiction
    if location is not None:
        lat, lon = location
        if most_specific.bounds is not None and not most_specific.bounds.contains(lat, lon):
            return None, [Violation("location", f"({lat}, {lon}) lies outside {most_specific.name} "
                                                f"{most_specific.code} ({most_specific.bounds.describe()})")]
        if grid is None:
            candidates = [g for g in grids_under if g.bounds is not None and g.bounds.contains(lat, lon)]
            if candidates:
                grid = min(candidates, key=lambda g: (g.bounds.area(), g.code))  # type: ignore[union-attr]
    return Placement(jurisdiction.code, grid.code if grid else None), []


def tree_violations(nodes: list[Mapping[str, Any]]) -> list[Violation]:
    """A jurisdiction file must be a proper tree: codes shaped by level, children under their
    parent's code and inside their parent's box."""
    violations: list[Violation] = []
    by_code = {str(n["code"]): n for n in nodes}
    for node in nodes:
        code = str(node["code"])
        level = level_of(code)
        if level is None or level != node["level"]:
            violations.append(Violation(code, f"code shape says {level}, file says {node['level']}"))
        parent = node.get("parent_code")
        if parent is not None and not in_jurisdiction(parent, code):
            violations.append(Violation(code, f"does not lie under its parent {parent}"))
        bounds, parent_node = node.get("bounds"), by_code.get(parent) if parent else None
        if (bounds and parent_node and parent_node.get("bounds")
                and not Bounds(**bounds).within(Bounds(**parent_node["bounds"]))):
            violations.append(Violation(code, f"bounds are not inside {parent}'s bounds"))
    return violations


def flatten_tree(tree: Iterable[Mapping[str, Any]], parent: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for item in tree:
        code = str(item["code"])
        nodes.append({"code": code, "name": item["name"], "level": item["level"],
                      "parent_code": parent if parent is not None else parent_of(code) if item["level"] != "city"
                      else None, "bounds": item.get("bounds"), "inspectors": item.get("inspectors", [])})
        nodes.extend(flatten_tree(item.get("children", []), code))
    return nodes
