"""Pipeline (funnel) configuration: one per product line, each with its own stage rules.

A pipeline says, for every stage, which facts must be recorded before the deal may leave it
(exit criteria), the probability that a deal in that stage is won (for the forecast), the
forecast category of a deal there (commit, best case, pipeline; a deal may be given another) and
the stage SLA in days (how long a deal may sit there before someone is nagged).
"""

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from domain.after_sales import AfterSalesPolicy
from domain.approvals import ApprovalPolicy
from domain.contracts import ContractPolicy
from domain.errors import RuleViolation
from domain.follow_up_policy import FollowUpPolicy
from domain.inputs import DEFAULT_MAX_AMOUNT, HARD_MAX_AMOUNT, AmountBounds, minor_unit
from domain.people import Directory, approver_entries
from domain.stages import STAGE_ORDER, ForecastCategory, Stage

SHIPPED_PIPELINES = Path(__file__).with_name("pipelines.toml")


class StageConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exit_criteria: tuple[str, ...] = ()
    win_probability: float = Field(ge=0.0, le=1.0)
    forecast_category: ForecastCategory = ForecastCategory.PIPELINE
    sla_days: int | None = Field(default=None, gt=0)


class Pipeline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")  # a search attribute
    name: str = Field(min_length=1)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    # The largest amount a deal (or a contract's total) may have: bigger ones are refused as input.
    max_amount: Decimal = Field(default=DEFAULT_MAX_AMOUNT, gt=0, le=HARD_MAX_AMOUNT)
    stages: dict[Stage, StageConfig]
    approvals: ApprovalPolicy | None = None  # None: no discounts in this pipeline
    contract: ContractPolicy | None = None  # None: deals close without contract review
    follow_up: FollowUpPolicy | None = None  # None: no reminders for idle deals
    after_sales: AfterSalesPolicy | None = None  # None: no revisits once a deal is won

    @model_validator(mode="after")
    def _every_stage_configured(self) -> "Pipeline":
        missing = [s.value for s in STAGE_ORDER if s not in self.stages]
        if missing:
            raise ValueError(f"pipeline {self.id!r} has no configuration for stage(s) {', '.join(missing)}")
        if self.contract is not None and self.approvals is None:
            raise ValueError(
                f"pipeline {self.id!r}: contract review needs an approvals policy (its people sign off)"
            )
        return self

    def stage(self, stage: Stage) -> StageConfig:
        return self.stages[stage]

    @property
    def amount_bounds(self) -> AmountBounds:
        return AmountBounds(self.max_amount, minor_unit(self.currency), self.currency)


class PipelineCatalog(BaseModel):
    """The pipelines a company runs, by id, and its people directory."""

    model_config = ConfigDict(frozen=True)

    pipelines: dict[str, Pipeline]
    people: Directory = Directory()

    def get(self, pipeline_id: str) -> Pipeline:
        try:
            return self.pipelines[pipeline_id]
        except KeyError:
            known = ", ".join(sorted(self.pipelines)) or "none"
            raise RuleViolation(
                "unknown-pipeline", f"no pipeline {pipeline_id!r} is configured (known: {known})"
            ) from None

    def currency(self, pipeline_id: str | None = None) -> str:
        """The currency of one pipeline's amounts, or of all of them ("mixed" when they differ)."""
        if pipeline_id is not None:
            return self.get(pipeline_id).currency
        currencies = {p.currency for p in self.pipelines.values()}
        return currencies.pop() if len(currencies) == 1 else "mixed"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<config>") -> "PipelineCatalog":
        raw = data.get("pipelines")
        if not isinstance(raw, Mapping) or not raw:
            raise PipelineConfigError(
                f"{source}: expected a [pipelines.<id>] table with at least one pipeline"
            )
        people = approver_entries(data.get("people", []))
        managers = data.get("managers", {})
        try:
            pipelines = {}
            for pid, body in raw.items():
                if not isinstance(body, Mapping):
                    raise PipelineConfigError(f"{source}: pipelines.{pid} must be a table, not {body!r}")
                if isinstance(body.get("approvals"), Mapping):  # the people directory is shared
                    body = {**body, "approvals": {"approvers": people, **body["approvals"]}}
                if isinstance(body.get("follow_up"), Mapping):  # so is who manages whom
                    body = {**body, "follow_up": {"managers": managers, **body["follow_up"]}}
                pipelines[pid] = Pipeline(id=pid, **body)
            return cls(pipelines=pipelines, people=Directory.from_file_data(data))
        except (ValidationError, TypeError) as err:
            raise PipelineConfigError(f"{source}: invalid pipeline configuration:\n{err}") from err


class PipelineConfigError(ValueError):
    """A pipeline file that cannot be used, with the reason."""


def load_catalog(path: Path | str | None = None) -> PipelineCatalog:
    """Read pipelines from a TOML file; without a path, the pipelines shipped with dealflow."""
    file = Path(path) if path is not None else SHIPPED_PIPELINES
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineConfigError(f"pipeline file {file} does not exist") from None
    except tomllib.TOMLDecodeError as err:
        raise PipelineConfigError(f"{file}: not valid TOML: {err}") from err
    return PipelineCatalog.from_mapping(data, source=str(file))
