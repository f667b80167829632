"""SQL shared by the read-side queries: which events move an opportunity between stages, and the
stage each one leaves it in. One place, so a new stage-changing event needs adding only here."""

STAGE_MOVE_TYPES = ("OpportunityOpened", "StageAdvanced", "OpportunityLost", "OpportunityReopened")

# `type IN (...)` over the stage-changing events
IS_STAGE_MOVE = "type IN (" + ", ".join(f"'{t}'" for t in STAGE_MOVE_TYPES) + ")"

# the stage the opportunity is in after the move (for a loss: the stage it was lost from)
STAGE_AFTER_MOVE = "coalesce(payload->>'to_stage', payload->>'stage', 'identify')"
