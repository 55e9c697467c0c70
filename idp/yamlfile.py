"""Reading YAML files that people edit (configuration, policy) with precise errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class FileProblem(Exception):
    """A problem in a file people edit: the file, the key and what is wrong."""

    def __init__(self, file: str, key: str, problem: str, line: int | None = None):
        self.file, self.key, self.problem, self.line = file, key, problem, line
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {problem}")


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


def key_lines(text: str) -> dict[tuple, int]:
    """Map each key path (and list index) of a YAML document to its 1-based line."""
    lines: dict[tuple, int] = {}

    def walk(node, path: tuple) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = (*path, key_node.value)
                lines[child] = key_node.start_mark.line + 1
                walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*path, index))

    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return lines
    if root is not None:
        walk(root, ())
    return lines


_TYPE_TAG = re.compile(r"^([a-z-]+\[.*\]|str|int|bool|float|none)$")


def clean_loc(loc: tuple) -> tuple:
    """pydantic's error location without the type tags it adds inside unions."""
    return tuple(part for part in loc if not (isinstance(part, str) and _TYPE_TAG.match(part)))


def line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    """The line of the deepest known part of ``loc`` (pydantic's error location)."""
    path = clean_loc(loc)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def _first(exc: ValidationError) -> dict:
    """The error to report: an unknown key (a typo) explains more than the key it misses."""
    errors = exc.errors()
    return next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])


def first_problem(exc: ValidationError) -> tuple[str, str]:
    """The dotted key and a readable problem for a validation error's first entry."""
    error = _first(exc)
    key = ".".join(str(part) for part in clean_loc(error["loc"]))
    problem = {"missing": "is required", "extra_forbidden": "is not a known key"}.get(
        error["type"], error["msg"]
    )
    return key, problem
