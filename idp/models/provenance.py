"""The column that carries a :class:`~idp.provenance.Provenance` on sessions, codes and tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import Mapped, mapped_column

from ..provenance import Provenance


class CarriesProvenance:
    """Mixin: one JSON column, read and written as a :class:`Provenance`."""

    provenance_json: Mapped[dict[str, Any] | None] = mapped_column("provenance", JSON)

    @property
    def provenance(self) -> Provenance | None:
        return None if self.provenance_json is None else Provenance.from_json(self.provenance_json)

    @provenance.setter
    def provenance(self, value: Provenance | None) -> None:
        self.provenance_json = None if value is None else value.as_json()
