"""The benchmarks' workloads still run against the engine as it is (no timing asserted here: that is
the benchmarks' job). A lifecycle is driven exactly as `make bench` drives it, through a dealflow
worker in a process of its own, so a change of the engine that breaks the workload fails here."""

import uuid

import pytest

from bench.workload import dealflow_lifecycles, worker_processes
from runtime.temporal_client import in_memory_dev_server


@pytest.mark.slow
async def test_the_lifecycle_workload_runs_on_a_dealflow_worker_process(database_url: str) -> None:
    async with await in_memory_dev_server() as env:
        address, queue = env.client.service_client.config.target_host, f"bench-{uuid.uuid4().hex[:6]}"
        async with worker_processes("dealflow", 1, address, database_url, queue):
            seconds = await dealflow_lifecycles(env.client, queue, 3)
    assert seconds > 0
