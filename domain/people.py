"""The people directory (人员名录): who works here, in which roles, and who manages whom.

One directory for the whole company, read from the pipeline file beside the pipelines: `people`
(the approvers and legal signers, with their roles and discount limits), `managers` (each rep and
the manager they report to) and `administrators` (who may reconcile and manage service accounts).
A rep is anyone listed under `managers`. Identity (who a caller really is) is proven elsewhere; the
directory only says what a proven name may do.

How to reach each person (their notifications): an entry of `people` may carry `email` and
`notify` (the channels they want, of "email" and "webhook"); anyone else (reps, administrators) is
listed the same way under `contacts`, e.g. `contacts = [{ name = "an.li", email = "an.li@…" }]`.
Both are optional: without `notify` a person is told on every channel that can reach them (e-mail
only with an address), so older files stay valid.
"""

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.approvals import Approver

REP = "rep"
MANAGER = "manager"
DIRECTOR = "director"
ADMIN = "admin"

Channel = Literal["email", "webhook"]
CHANNELS: tuple[Channel, ...] = ("email", "webhook")
CONTACT_FIELDS = ("email", "notify")  # what a `people` entry may say besides the approver's fields


class Contact(BaseModel):
    """How one person is told: their address and the channels they want."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+$", max_length=254)
    notify: tuple[Channel, ...] = CHANNELS


def approver_entries(people: Iterable[Any]) -> list[Any]:
    """The `people` entries as the approval policies read them: without how to reach each one."""
    return [
        {k: v for k, v in p.items() if k not in CONTACT_FIELDS} if isinstance(p, Mapping) else p
        for p in people
    ]


class Directory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[Approver, ...] = ()
    managers: dict[str, str] = Field(default_factory=dict)  # rep -> manager
    administrators: tuple[str, ...] = ()
    contacts: tuple[Contact, ...] = ()

    @model_validator(mode="after")
    def _one_entry_per_person(self) -> "Directory":
        names = [p.name for p in self.people]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"people listed twice in the directory: {', '.join(twice)}")
        reached = [c.name for c in self.contacts]
        twice = sorted({n for n in reached if reached.count(n) > 1})
        if twice:
            raise ValueError(f"contact details given twice for: {', '.join(twice)}")
        return self

    @classmethod
    def from_file_data(cls, data: Mapping[str, Any]) -> "Directory":
        people = data.get("people", ())
        contacts = [
            {"name": p.get("name"), **{k: p[k] for k in CONTACT_FIELDS if k in p}}
            for p in people
            if isinstance(p, Mapping) and any(k in p for k in CONTACT_FIELDS)
        ]
        return cls(
            people=approver_entries(people),
            managers=data.get("managers", {}),
            administrators=data.get("administrators", ()),
            contacts=[*contacts, *data.get("contacts", ())],
        )

    def contact(self, name: str) -> Contact:
        """How to reach a person: as listed, or no address and every channel."""
        return next((c for c in self.contacts if c.name == name), Contact(name=name))

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
