"""A closed relationship refuses more work by its rule, from the API and the command line alike
(it used to say there was no such opportunity)."""

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from app.deal_client import DealClient
from app.errors import NotFound, Refused
from cli.main import main
from domain.after_sales import CloseRelationship, OpenRenewal
from tests.factories import open_cmd, relationship_when, through_all_stages


async def test_a_closed_relationship_is_refused_not_missing(
    deals: DealClient,
    time_skipping_env: WorkflowEnvironment,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    oid = f"opp-{uuid.uuid4().hex[:10]}"
    await deals.open(open_cmd(oid, owner="an.li"))
    await through_all_stages(deals, oid)
    await relationship_when(deals, oid, lambda state: state.version >= 1)
    await deals.close_relationship(oid, CloseRelationship(reason="company acquired", by="mei.chen"))
    await time_skipping_env.client.get_workflow_handle(f"{oid}.after-sales").result()

    with pytest.raises(Refused) as err:
        await deals.open_renewal(oid, OpenRenewal(amount=1000, by="an.li"))
    assert not isinstance(err.value, NotFound)
    assert err.value.rule == "relationship-open"
    assert "closed (company acquired)" in err.value.message

    monkeypatch.setenv("TEMPORAL_ADDRESS", time_skipping_env.client.service_client.config.target_host)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", time_skipping_env.client.namespace)
    capsys.readouterr()
    assert await main(["aftersales", "renew", oid, "--amount", "60000", "--by", "an.li"]) == 3
    out, err_text = capsys.readouterr()
    assert out == ""
    assert err_text.splitlines()[-1].startswith("refused [relationship-open]")
    assert await main(["aftersales", "show", oid, "--json"]) == 0  # its last state still reads
    assert '"closed": "company acquired"' in capsys.readouterr().out
    # An opportunity whose workflow has ended (it reached after-sales) refuses moves the same way.
    assert await main(["lose", oid, "--reason", "price"]) == 3
    assert "refused [opportunity-open]" in capsys.readouterr().err
