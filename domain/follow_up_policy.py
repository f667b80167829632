"""How a pipeline nags idle deals: when to escalate, and to whom."""

from pydantic import BaseModel, ConfigDict, Field


class FollowUpPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    escalate_after_factor: float = Field(default=2.0, gt=1.0)  # escalate when idle for SLA x factor
    managers: dict[str, str] = Field(default_factory=dict)  # rep -> manager
    default_manager: str = "sales-director"

    def manager_of(self, rep: str) -> str:
        return self.managers.get(rep, self.default_manager)
