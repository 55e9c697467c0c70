"""Load and validate a policy file, reporting the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class PolicyError(Exception):
    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"{file}: {key}: {problem}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AcrLevels(_Section):
    single_factor: str = Field(min_length=1)
    multi_factor: str = Field(min_length=1)


class Passwords(_Section):
    min_length: int = Field(ge=8, le=128)


class LocalLockout(_Section):
    max_failures: int = Field(ge=1, le=100)


class Lockout(_Section):
    local: LocalLockout


class Policy(_Section):
    version: int = Field(ge=1, le=1)
    acr: AcrLevels
    passwords: Passwords
    lockout: Lockout

    @property
    def acr_values(self) -> list[str]:
        """The acr values from the weakest to the strongest."""
        return [self.acr.single_factor, self.acr.multi_factor]


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(str(path), "(file)", f"is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(str(path), "(file)", "must be a mapping of keys to values")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        problem = "is required" if error["type"] == "missing" else error["msg"]
        if error["type"] == "extra_forbidden":
            problem = "is not a known policy key"
        raise PolicyError(str(path), key, problem) from None
