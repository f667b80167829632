"""Pipeline configuration: the shipped file, a user's file, and clear errors for bad ones."""

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
