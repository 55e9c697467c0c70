"""Load and validate a policy file, reporting the file, the key and the problem."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..yamlfile import FileProblem, first_problem, read_mapping


class PolicyError(FileProblem):
    """A problem in a policy file: the file, the key and what is wrong."""


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
    data = read_mapping(path, PolicyError)
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(str(path), *first_problem(exc)) from None
