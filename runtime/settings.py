"""Where dealflow finds its servers. Unset variables mean: start the embedded ones."""

import os
from dataclasses import dataclass
from pathlib import Path

TASK_QUEUE = "dealflow"


@dataclass(frozen=True)
class Settings:
    temporal_address: str | None
    temporal_namespace: str
    database_url: str | None
    data_dir: Path
    pipelines_file: Path | None
    task_queue: str = TASK_QUEUE

    @classmethod
    def from_env(cls) -> "Settings":
        pipelines = os.environ.get("DEALFLOW_PIPELINES")
        return cls(
            temporal_address=os.environ.get("TEMPORAL_ADDRESS") or None,
            temporal_namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("DEALFLOW_DATA_DIR", ".dealflow")).resolve(),
            pipelines_file=Path(pipelines) if pipelines else None,
        )
