"""Every recorded history must replay on today's workflow code without non-determinism."""

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from workflows.after_sales import AfterSalesWorkflow
from workflows.opportunity import OpportunityWorkflow

HISTORIES = sorted(Path(__file__).with_name("histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_histories_are_recorded() -> None:
    assert len(HISTORIES) >= 53, "record them with `python -m tests.record_histories`"


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = load(path)
    replayer = Replayer(
        workflows=[OpportunityWorkflow, AfterSalesWorkflow], data_converter=pydantic_data_converter
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None
