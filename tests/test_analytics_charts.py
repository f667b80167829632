"""`dealflow analytics waterfall | velocity | calibration | backtest | trend --chart FILE.png` on the
deals worked out by hand in tests/test_waterfall_fixtures.py and tests/test_analytics_fixtures.py
(their fixtures, under other names here): each command writes a real PNG besides its output, and the
figure it drew carries the hand-computed figures in its bars (the waterfall's add up: start + flows =
end)."""

import json
import math
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cli import analytics_charts
from cli.main import main
from tests import test_analytics_fixtures, test_waterfall_fixtures

analytics_deals = test_analytics_fixtures.four_deals
waterfall_deals = test_waterfall_fixtures.four_deals
PNG = b"\x89PNG\r\n\x1a\n"
FEBRUARY = ["--pipeline", "software", "--from", "2026-02-01", "--to", "2026-03-01"]
QUARTER = ["--from", "2026-01-01", "--to", "2026-04-01"]


@pytest.fixture
def drawn(database_url: str, monkeypatch: pytest.MonkeyPatch) -> list[Figure]:
    """The figures the commands save, in order (each still written to its file)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "250")
    figures: list[Figure] = []
    save = analytics_charts.save

    def keep(figure: Figure, path: Path) -> Path:
        figures.append(figure)
        return save(figure, path)

    monkeypatch.setattr(analytics_charts, "save", keep)
    return figures


async def chart(argv: list[str], path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command with `--chart path`; check the PNG and the size its figure asked for."""
    capsys.readouterr()
    assert await main(["analytics", *argv, "--chart", str(path)]) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert f"chart written to {path}" in err.replace("\n", "")
    return out


def size(path: Path) -> tuple[int, int]:
    """The PNG's width and height in pixels."""
    assert path.read_bytes()[:8] == PNG
    height, width, _ = matplotlib.image.imread(path).shape
    return width, height


def bars(ax: Axes) -> list[float]:
    return [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]


@pytest.mark.usefixtures("waterfall_deals")
async def test_the_waterfall_chart_adds_up(
    drawn: list[Figure], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = await chart(["waterfall", *FEBRUARY], tmp_path / "team.png", capsys)
    assert "Pipeline waterfall" in table
    assert size(tmp_path / "team.png") == (700, 600)  # one panel: the pipeline asked for is the team
    out = await chart(["waterfall", *FEBRUARY, "--by-rep", "--json"], tmp_path / "reps.png", capsys)
    assert json.loads(out)["team"]["end"]["value"] == "280000"  # the JSON stays clean on stdout
    assert size(tmp_path / "reps.png") == (1900, 600)  # the team, an.li, bo.wang
    [team], [*by_rep] = drawn[0].axes, drawn[1].axes
    # start, new, reopened, amount revised, won, lost, end: as tests/test_waterfall_fixtures.py
    assert bars(team) == [350_000, 80_000, 50_000, -5_000, -95_000, -100_000, 280_000]
    assert [ax.get_title() for ax in by_rep] == ["team", "rep an.li", "rep bo.wang"]
    assert bars(by_rep[1])[0] + bars(by_rep[1])[-1] == 150_000 + 100_000
    for ax in (team, *by_rep):
        start, *flows, end = bars(ax)
        assert start + sum(flows) == end
        # each flow starts where the one before it ended
        bottoms = [p.get_y() for p in ax.patches if isinstance(p, Rectangle)][1:-1]
        assert bottoms == [start + sum(flows[:i]) for i in range(len(flows))]


@pytest.mark.usefixtures("analytics_deals")
async def test_velocity_calibration_backtest_and_trend_charts(
    drawn: list[Figure], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "Velocity" in await chart(["velocity", *FEBRUARY], tmp_path / "v.png", capsys)
    velocity = drawn[-1]
    assert len(velocity.axes) == 5  # velocity, then open, win rate, average deal, cycle length
    # team, an.li (decided, nothing open: 0), bo.wang (none decided: n/a, drawn as 0)
    assert bars(velocity.axes[0]) == pytest.approx([2439.02, 0, 0])
    assert [bars(ax) for ax in velocity.axes[1:]] == [
        [2, 0, 2],
        [0.5, 0.5, 0],
        [100_000, 100_000, 0],
        [41.0, 41.0, 0],
    ]
    assert size(tmp_path / "v.png") == (1400, 800)

    await chart(["calibration", *QUARTER], tmp_path / "c.png", capsys)
    *pipelines, backtest = drawn[-1].axes
    software = next(ax for ax in pipelines if ax.get_title() == "pipeline software")
    won, configured = bars(software)[:5], bars(software)[5:]  # identify .. negotiation
    assert won == pytest.approx([2 / 3, 2 / 3, 1, 1, 1])
    assert configured == pytest.approx([0.05, 0.10, 0.25, 0.50, 0.75])
    assert all(ax.get_title().endswith(": no deal closed") for ax in pipelines if ax is not software)
    assert bars(backtest) == [0, 50_000, 117_500, 0, 100_000, 90_000]  # all pipelines: only software's
    assert size(tmp_path / "c.png") == (100 + 600 * (len(pipelines) + 1), 600)

    await chart(["backtest", "--pipeline", "software", *QUARTER, "--as-of", "2026-03-15"], tmp_path / "b.png",
                capsys)  # fmt: skip
    [ax] = drawn[-1].axes
    assert bars(ax) == [0, 50_000, 117_500, 0, 100_000, 90_000]  # forecast, then won, per month
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["2026-01", "2026-02", "2026-03\n(so far)"]
    assert size(tmp_path / "b.png") == (900, 600)

    await chart(["trend", "--pipeline", "software", *QUARTER], tmp_path / "t.png", capsys)
    panels = {
        ax.get_title(): np.asarray(ax.lines[0].get_ydata(), dtype=float).tolist() for ax in drawn[-1].axes
    }
    assert len(panels) == 6
    assert panels["win rate"][1:] == [0.5, 1.0]
    assert math.isnan(panels["win rate"][0])  # nothing decided in January
    assert panels["open value"] == [350_000, 290_000, 200_000]
    assert panels["velocity per day"][1:] == pytest.approx([2439.02, 4285.71])
    assert size(tmp_path / "t.png") == (1500, 800)
