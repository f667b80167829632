"""The people directory (人员名录): who works here, in which roles, and who manages whom.

One directory for the whole company, read from the pipeline file beside the pipelines: `people`
(the approvers and legal signers, with their roles and discount limits), `managers` (each rep and
the manager they report to) and `administrators` (who may reconcile and manage service accounts).
A rep is anyone listed under `managers`. Identity (who a caller really is) is proven elsewhere; the
directory only says what a proven name may do.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.approvals import Approver

REP = "rep"
MANAGER = "manager"
DIRECTOR = "director"
ADMIN = "admin"


class Directory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[Approver, ...] = ()
    managers: dict[str, str] = Field(default_factory=dict)  # rep -> manager
    administrators: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_person(self) -> "Directory":
        names = [p.name for p in self.people]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"people listed twice in the directory: {', '.join(twice)}")
        return self

    @classmethod
    def from_file_data(cls, data: Mapping[str, Any]) -> "Directory":
        return cls(
            people=data.get("people", ()),
            managers=data.get("managers", {}),
            administrators=data.get("administrators", ()),
        )

    def roles(self, name: str) -> frozenset[str]:
        """Every role the person holds (none for a stranger)."""
        roles = {p.role for p in self.people if p.name == name}
        if name in self.managers:
            roles.add(REP)
        if name in self.administrators:
            roles.add(ADMIN)
        return frozenset(roles)

    def knows(self, name: str) -> bool:
        return bool(self.roles(name))

    def names(self) -> list[str]:
        """Everyone in the directory, sorted."""
        listed = {p.name for p in self.people} | set(self.managers) | set(self.administrators)
        return sorted(listed)

    def manages(self, manager: str, rep: str) -> bool:
        """Whether `rep` reports to `manager`, directly or through a manager who does."""
        seen: set[str] = set()
        current = rep
        while current in self.managers and current not in seen:
            seen.add(current)
            current = self.managers[current]
            if current == manager:
                return True
        return False
