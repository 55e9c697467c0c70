"""Load and validate a policy file, reporting the file, the line, the key and the problem."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..yamlfile import FileProblem, first_problem, key_lines, line_of, read_mapping
from .model import Policy


class PolicyError(FileProblem):
    """A problem in a policy file: the file, the line, the key and what is wrong."""


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    data = read_mapping(path, PolicyError)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        key, problem = first_problem(exc)
        lines = key_lines(path.read_text(encoding="utf-8"))
        where = tuple(int(part) if part.isdigit() else part for part in key.split("."))
        raise PolicyError(str(path), key, problem, line_of(lines, where)) from None
