"""What every versioned policy file of enforcement shares (alert policy, supervision policy,
legal-basis catalogue): YAML validated by a pydantic model, every problem named by its field; a
directory of versions; the version in effect on a date (the latest ``effective_from`` not after
it, the earliest before any took effect)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError


class FileInvalid(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class Versioned(Protocol):
    version: str
    effective_from: date


T = TypeVar("T", bound=BaseModel)
V = TypeVar("V", bound=Versioned)


def parse_file(text: str, model: type[T], invalid: type[FileInvalid], shape: str) -> T:
    """Validate one file (YAML or JSON); ``invalid`` lists every problem, ``shape`` says what a
    document must be when it is not a mapping at all."""
    try:
        document: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise invalid([f"file: not YAML ({exc})"]) from exc
    if not isinstance(document, dict):
        raise invalid([f"file: {shape}"])
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise invalid([f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()]) from exc


class Book(Generic[V]):
    """Every version, ordered by effective date."""

    invalid: type[FileInvalid] = FileInvalid
    what = "policy file"

    def __init__(self, items: list[V]) -> None:
        if not items:
            raise self.invalid([f"no {self.what} found"])
        versions = [p.version for p in items]
        if len(set(versions)) != len(versions):
            raise self.invalid([f"versions: each version once, got {sorted(versions)}"])
        if len({p.effective_from for p in items}) != len(items):
            raise self.invalid(["effective_from: two versions take effect on the same date"])
        self.items = sorted(items, key=lambda p: p.effective_from)

    def in_effect(self, day: date) -> V:
        """The latest version effective on ``day``; the earliest one before any took effect."""
        current = self.items[0]
        for item in self.items:
            if item.effective_from <= day:
                current = item
        return current

    def version(self, version: str) -> V | None:
        return next((p for p in self.items if p.version == version), None)


def load_directory(directory: Path, parse: Callable[[str], V], invalid: type[FileInvalid]) -> list[V]:
    """Every ``*.yaml`` of a directory, validated (at start-up: a bad file stops the service,
    each problem named with its file)."""
    items, problems = [], []
    for path in sorted(directory.glob("*.yaml")):
        try:
            items.append(parse(path.read_text(encoding="utf-8")))
        except FileInvalid as exc:
            problems += [f"{path.name}: {p}" for p in exc.problems]
    if problems:
        raise invalid(problems)
    return items
