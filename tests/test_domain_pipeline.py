"""Pipeline configuration: the shipped file, a user's file, and clear errors for bad ones."""

from decimal import Decimal
from pathlib import Path

import pytest

from domain.errors import RuleViolation
from domain.pipeline import PipelineConfigError, load_catalog
from domain.stages import STAGE_ORDER, Stage


def test_shipped_catalog_has_two_complete_pipelines() -> None:
    catalog = load_catalog()
    assert set(catalog.pipelines) == {"software", "services"}
    for pipeline in catalog.pipelines.values():
        assert set(pipeline.stages) == set(STAGE_ORDER)
        assert pipeline.stage(Stage.DEAL).win_probability == 1.0
        probabilities = [pipeline.stage(s).win_probability for s in STAGE_ORDER]
        assert probabilities == sorted(probabilities)


def test_unknown_pipeline_names_the_known_ones() -> None:
    with pytest.raises(RuleViolation, match=r"\[unknown-pipeline\].*'hardware'.*services, software"):
        load_catalog().get("hardware")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipelines.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_users_file_is_loaded(tmp_path: Path) -> None:
    body = "".join(
        f"[pipelines.hw.stages.{s}]\nwin_probability = {i / 10}\nexit_criteria = ['x{i}']\n"
        for i, s in enumerate(STAGE_ORDER)
    )
    catalog = load_catalog(_write(tmp_path, '[pipelines.hw]\nname = "Hardware"\n' + body))
    assert catalog.get("hw").stage(Stage.PROPOSAL).exit_criteria == ("x3",)


def test_missing_stage_is_reported(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '[pipelines.hw]\nname = "Hardware"\n[pipelines.hw.stages.identify]\nwin_probability = 0.1\n'
    )
    with pytest.raises(PipelineConfigError, match=r"no configuration for stage.*contact"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not valid TOML"),
        ("[other]\n", "expected a \\[pipelines.<id>\\] table"),
        ('[pipelines.hw]\nname = "x"\nstages = {}\nbogus = 1\n', "invalid pipeline configuration"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(PipelineConfigError, match=message):
        load_catalog(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PipelineConfigError, match="does not exist"):
        load_catalog(tmp_path / "nope.toml")


def _stages() -> str:
    return "".join(f"[pipelines.hw.stages.{s}]\nwin_probability = 0.5\n" for s in STAGE_ORDER)


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (f"[pipelines.{'h' * 65}]\nname = 'x'\n", "at most 64 characters"),  # a Keyword search attribute
        ("[pipelines.hw]\nname = 'x'\nmax_amount = 1e16\n", "max_amount"),  # beyond a Double's cents
        ("[pipelines.hw]\nname = 'x'\nmax_amount = 0\n", "max_amount"),
        ("[pipelines.hw]\nname = 'x'\ncurrency = 'yuan'\n", "currency"),
    ],
)
def test_what_a_pipeline_may_allow_is_bounded(tmp_path: Path, head: str, message: str) -> None:
    stages = _stages().replace("pipelines.hw.", f"pipelines.{'h' * 65}.") if "h" * 65 in head else _stages()
    with pytest.raises(PipelineConfigError, match=message):
        load_catalog(_write(tmp_path, head + stages))


def test_a_pipeline_bounds_its_amounts_by_its_currency(tmp_path: Path) -> None:
    head = "[pipelines.hw]\nname = 'x'\ncurrency = 'JPY'\nmax_amount = 5000000\n"
    bounds = load_catalog(_write(tmp_path, head + _stages())).get("hw").amount_bounds
    assert (bounds.max_amount, bounds.minor_unit, bounds.currency) == (Decimal(5_000_000), 0, "JPY")
    assert load_catalog().get("software").amount_bounds.max_amount == Decimal(10**12)
