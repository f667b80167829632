"""The activity that tells a workflow which rules a pipeline id means: the worker's own catalog.

A caller names the pipeline; it never supplies the rules (a copied pipeline file with a higher
owner limit must not let a rep approve their own discount). The answer is the body and its content
hash, and every version handed out is kept in `pipeline_versions`, so the rules a deal was judged by
can be read back after the file changes. An unknown id is an answer, not an error: the workflow
decides what it means.
"""

import psycopg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.errors import RuleViolation
from domain.pipeline import PipelineCatalog
from store.event_store import EventStore
from store.pipeline_versions import record_pipeline_version
from workflows.messages import RESOLVE_PIPELINE, PipelineLookup

log = structlog.get_logger(__name__)


class PipelineActivities:
    def __init__(self, store: EventStore, catalog: PipelineCatalog) -> None:
        self._store = store
        self._catalog = catalog

    @activity.defn(name=RESOLVE_PIPELINE)
    async def resolve_pipeline(self, pipeline_id: str) -> PipelineLookup:
        """The worker's pipeline of this id and its version hash (stored), or none and the known ids."""
        try:
            pipeline = self._catalog.get(pipeline_id)
        except RuleViolation:
            known = sorted(self._catalog.pipelines)
            log.warning("unknown pipeline", pipeline=pipeline_id, known=known)
            return PipelineLookup(known=known)
        try:  # a database that is down raises here and the activity is retried with backoff
            version = await record_pipeline_version(self._store, pipeline)
        except psycopg.DataError as err:  # a body PostgreSQL cannot hold: retrying cannot help
            raise ApplicationError(str(err), type="PipelineRefused", non_retryable=True) from err
        return PipelineLookup(pipeline=pipeline, version=version, known=sorted(self._catalog.pipelines))
