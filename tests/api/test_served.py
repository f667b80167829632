"""`dealflow serve` as a real process: a client in another language (curl, in a shell script) opens
and moves a deal; the docs load without a CDN; schemathesis explores the OpenAPI document and finds
no server error and no response outside the schema."""

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import Api, Served, new_id

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


async def run(*argv: str, env: dict[str, str], within_s: float) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(within_s):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
async def test_curl_opens_and_moves_a_deal(served: Served) -> None:
    deal = new_id("curl")
    env = {
        **served.env,
        "BASE": served.url,
        "DEAL": deal,
        "DEALFLOW": str(Path(sys.executable).with_name("dealflow")),
    }
    code, out, err = await run("bash", str(HERE / "curl_deal.sh"), env=env, within_s=60)
    assert code == 0, err
    opened, advanced, stage, refused = out.strip().splitlines()
    assert json.loads(opened)["opportunity_id"] == deal
    assert json.loads(advanced)["stage"] == "contact"
    assert stage == '"stage":"contact"'
    assert refused == "refused with 409"
    assert json.loads(err.strip().splitlines()[-1])["rule"] == "forward-one-stage"


async def test_the_docs_work_offline(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as client:
        docs = await client.get("/docs")
        assert docs.status_code == 200
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: *['"]([^'"]+)['"]""", docs.text)
        found = [u for pair in urls for u in pair if u]
        assert found  # the page loads its script and style ...
        assert all(u.startswith("/") for u in found), found  # ... from this server, no CDN
        assert "cdn" not in docs.text.lower()
        for url in found:
            assert (await client.get(url)).status_code == 200, url
        schema = (await client.get("/openapi.json")).json()
        assert schema["openapi"].startswith("3.1")


async def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_schema(
    served: Served, api: Api, tmp_path: Path
) -> None:
    token = api.auth("hua.zhang")["Authorization"]
    schemathesis = str(Path(sys.executable).with_name("schemathesis"))
    code, out, err = await run(
        schemathesis, "run", f"{served.url}/openapi.json",
        "--header", f"Authorization: {token}",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", "5", "--max-time", "25", "--seed", "7", "--no-shrink",
        "--request-timeout", "15", "--workers", "1",
        "--report-dir", str(tmp_path),
        env={**served.env, "SCHEMATHESIS_HOOKS": "", "NO_COLOR": "1"},
        within_s=90,
    )  # fmt: skip
    assert code == 0, out[-6000:] + err[-2000:]
