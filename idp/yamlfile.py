"""Reading YAML files that people edit (configuration, policy) with precise errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class FileProblem(Exception):
    """A problem in a file people edit: the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


def read_mapping(path: Path, error: type[FileProblem]) -> dict[str, Any]:
    """Parse ``path`` as a YAML mapping (an empty file is an empty mapping)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise error(str(path), "(file)", f"is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise error(str(path), "(file)", "must be a mapping of keys to values")
    return data


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The dotted key and a readable problem for a validation error's first entry."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    problem = {"missing": "is required", "extra_forbidden": "is not a known key"}.get(
        error["type"], error["msg"]
    )
    return key, problem
