"""Custom search attributes kept current on every opportunity, for Temporal visibility queries."""

from temporalio.common import SearchAttributeKey

STAGE = SearchAttributeKey.for_keyword("DealStage")
OWNER = SearchAttributeKey.for_keyword("DealOwner")
PIPELINE = SearchAttributeKey.for_keyword("DealPipeline")
AMOUNT = SearchAttributeKey.for_float("DealAmount")

ALL: tuple[SearchAttributeKey[str] | SearchAttributeKey[float], ...] = (STAGE, OWNER, PIPELINE, AMOUNT)
