"""Every version of a pipeline that a deal ever used, kept by the hash of its canonical JSON.

A deal pins the exact rules it started with (the worker's catalog at that moment): its workflow
carries the hash, and this table keeps the body behind each hash, so the rules a deal was judged
by can be read back after the configuration file has changed (`dealflow pipelines --versions`).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from domain.pipeline import Pipeline
from store.event_store import EventStore


@dataclass(frozen=True)
class PipelineVersion:
    hash: str  # sha256 of the pipeline's canonical JSON (`pipeline_version`)
    pipeline_id: str
    pipeline: Pipeline  # the body that hash names
    first_seen: datetime  # when a deal first used it


def canonical_json(pipeline: Pipeline) -> str:
    """One spelling per pipeline: JSON with sorted keys and no spaces, whatever the TOML looked like."""
    return json.dumps(
        pipeline.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def pipeline_version(pipeline: Pipeline) -> str:
    """The content hash that pins a pipeline's exact rules."""
    return hashlib.sha256(canonical_json(pipeline).encode("utf-8")).hexdigest()


async def record_pipeline_version(store: EventStore, pipeline: Pipeline) -> str:
    """Keep this version (once: a version seen before keeps its first-seen time); return its hash."""
    version = pipeline_version(pipeline)
    async with store.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO pipeline_versions (hash, pipeline_id, body) VALUES (%s, %s, %s::jsonb)"
            " ON CONFLICT (hash) DO NOTHING",
            (version, pipeline.id, canonical_json(pipeline)),
        )
    return version


async def pipeline_versions(store: EventStore, pipeline_id: str | None = None) -> list[PipelineVersion]:
    """The stored versions (of one pipeline, or of all), by pipeline id, oldest first."""
    async with store.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT hash, pipeline_id, body::text, first_seen FROM pipeline_versions"
            " WHERE %s::text IS NULL OR pipeline_id = %s ORDER BY pipeline_id, first_seen, hash",
            (pipeline_id, pipeline_id),
        )
        rows = await cur.fetchall()
    return [
        PipelineVersion(str(h), str(p), Pipeline.model_validate_json(str(b)), f)  # type: ignore[arg-type]
        for h, p, b, f in rows
    ]
