"""The event store schema's first twelve migrations (store/migrations.py applies them, then the
ones appended there). Applied migrations are never edited."""

# Each entry is one migration, in the order they were added.
FIRST_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL CHECK (version >= 1),
        event_id        text        NOT NULL UNIQUE,
        type            text        NOT NULL,
        schema_version  smallint    NOT NULL,
        occurred_at     timestamptz NOT NULL,
        payload         jsonb       NOT NULL,
        -- Global order. Appends hold a transaction lock (see event_store.py), so positions
        -- become visible in order and a reader tracking "after position N" never skips one.
        position        bigint      GENERATED ALWAYS AS IDENTITY UNIQUE,
        recorded_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX events_type_occurred_at ON events (type, occurred_at);
    """,
    """
    -- The notification outbox: other systems (mail, chat) read and deliver from here.
    CREATE TABLE notifications (
        key             text        PRIMARY KEY,  -- the event that caused it: sending twice stores once
        recipient       text        NOT NULL,
        kind            text        NOT NULL,
        opportunity_id  text        NOT NULL,
        message         text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
        delivered_at    timestamptz
    );
    CREATE INDEX notifications_undelivered ON notifications (created_at) WHERE delivered_at IS NULL;
    """,
    """
    -- Compiled sales briefs, one per period and pipeline ('*' = every pipeline).
    CREATE TABLE sales_briefs (
        period          text        NOT NULL CHECK (period IN ('week', 'month')),
        period_start    date        NOT NULL,
        pipeline        text        NOT NULL,
        body            jsonb       NOT NULL,
        compiled_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
        PRIMARY KEY (period, period_start, pipeline)
    );
    """,
    """
    -- Read models, kept by the catch-up projector (reports/projector.py) from the events alone.
    CREATE TABLE projector_checkpoints (
        name        text        PRIMARY KEY,
        position    bigint      NOT NULL,  -- the last event projected; written with the rows it caused
        updated_at  timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE TABLE rm_opportunities (
        opportunity_id  text        PRIMARY KEY,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        company         text        NOT NULL,
        opened_at       timestamptz NOT NULL
    );
    -- One row per visit of a stage; a visit ends when the deal moves on ('advanced') or is lost.
    CREATE TABLE rm_stage_visits (
        opportunity_id  text        NOT NULL,
        visit_no        integer     NOT NULL,
        stage           text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        entered_at      timestamptz NOT NULL,
        exited_at       timestamptz,
        exit            text        CHECK (exit IN ('advanced', 'lost')),
        PRIMARY KEY (opportunity_id, visit_no)
    );
    CREATE INDEX rm_stage_visits_stage_entered ON rm_stage_visits (stage, entered_at);
    CREATE INDEX rm_stage_visits_entered ON rm_stage_visits (entered_at);
    -- The amount of an opportunity from `since` on (its lead, then revised quotes).
    CREATE TABLE rm_amounts (
        opportunity_id  text        NOT NULL,
        since           timestamptz NOT NULL,
        version         integer     NOT NULL,
        amount          numeric     NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE TABLE rm_losses (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        lost_at         timestamptz NOT NULL,
        stage           text        NOT NULL,
        reason          text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_losses_lost_at ON rm_losses (lost_at);
    """,
    """
    CREATE INDEX rm_stage_visits_exited ON rm_stage_visits (exited_at);
    CREATE INDEX rm_amounts_since ON rm_amounts (opportunity_id, since);
    """,
    """
    -- Denormalised for the reports, so a report reads the rows of its period and joins nothing:
    -- the first entry of each stage per opportunity, with the entries the durations run from and
    -- the first entry of the next stage (the funnel's "moved on").
    CREATE TABLE rm_first_entries (
        opportunity_id      text        NOT NULL,
        stage               text        NOT NULL,
        entered_at          timestamptz NOT NULL,
        version             integer     NOT NULL,  -- of the event that entered the stage
        pipeline            text        NOT NULL,
        owner               text        NOT NULL,
        opened_at           timestamptz NOT NULL,  -- the opportunity's entry of identify
        contact_at          timestamptz,           -- its first entry of contact, if by then
        next_entered_at     timestamptz,           -- first entry of the stage after this one
        PRIMARY KEY (opportunity_id, stage)
    );
    CREATE INDEX rm_first_entries_stage_entered ON rm_first_entries (stage, entered_at);
    CREATE INDEX rm_first_entries_entered ON rm_first_entries (entered_at);
    ALTER TABLE rm_stage_visits ADD COLUMN reentry boolean NOT NULL DEFAULT false;  -- began by a reopen
    CREATE INDEX rm_stage_visits_reentry ON rm_stage_visits (entered_at) WHERE reentry;
    CREATE INDEX rm_stage_visits_open ON rm_stage_visits (entered_at)
        WHERE exited_at IS NULL AND stage NOT IN ('deal', 'after_sales');
    ALTER TABLE rm_losses ADD COLUMN reopened_at timestamptz;  -- when the loss was undone, if it was
    CREATE INDEX rm_opportunities_opened ON rm_opportunities (opened_at);
    CREATE INDEX rm_opportunities_company ON rm_opportunities (company);
    -- The read models gained columns: project every event again on the next catch-up.
    TRUNCATE rm_opportunities, rm_stage_visits, rm_amounts, rm_losses;
    DELETE FROM projector_checkpoints WHERE name = 'read_models';
    """,
    """
    -- A stream is an opportunity or a customer relationship (`<deal id>.after-sales`): the key is
    -- generic. Event payloads written before keep their `opportunity_id` field; both read.
    ALTER TABLE events RENAME COLUMN opportunity_id TO stream_id;
    ALTER TABLE notifications RENAME COLUMN opportunity_id TO stream_id;
    """,
    """
    -- Read models for every report, so that the projector's modules are the only readers of the
    -- events' JSON (reports/projector*.py). Empty the read models first: rm_stage_visits gains a
    -- NOT NULL column, and the next catch-up projects every event again.
    TRUNCATE rm_opportunities, rm_stage_visits, rm_amounts, rm_losses, rm_first_entries;
    DELETE FROM projector_checkpoints WHERE name = 'read_models';
    -- The event that began the visit: the stage log orders a deal's entries and losses by it.
    ALTER TABLE rm_stage_visits ADD COLUMN version integer NOT NULL;
    CREATE TABLE rm_discount_requests (
        request_id      text        PRIMARY KEY,
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,  -- of the request: a deal's requests in order
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        discount        numeric     NOT NULL,
        amount          numeric     NOT NULL,
        level           integer,               -- where it started; NULL: the owner granted it alone
        level_name      text        NOT NULL,
        requested_at    timestamptz NOT NULL,
        escalated_at    timestamptz,           -- its first escalation
        outcome         text CHECK (outcome IN ('approved', 'rejected', 'expired', 'superseded')),
        decided_at      timestamptz            -- when the outcome came
    );
    CREATE INDEX rm_discount_requests_requested ON rm_discount_requests (requested_at);
    CREATE INDEX rm_discount_requests_decided ON rm_discount_requests (decided_at);
    CREATE TABLE rm_discount_levels (
        request_id      text        NOT NULL,
        level           integer     NOT NULL,
        level_name      text        NOT NULL,
        opportunity_id  text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        started_at      timestamptz NOT NULL,
        ended_at        timestamptz,
        ended_by        text CHECK (ended_by IN ('approved', 'rejected', 'escalated', 'expired',
                                             'superseded')),
        PRIMARY KEY (request_id, level)
    );
    CREATE INDEX rm_discount_levels_ended ON rm_discount_levels (ended_at);
    -- Only open requests: small enough that an approver's inbox needs no index of its own.
    CREATE TABLE rm_pending_approvals (
        opportunity_id  text        PRIMARY KEY,
        request_id      text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        discount        numeric     NOT NULL,
        amount          numeric     NOT NULL,
        level           integer     NOT NULL,
        level_name      text        NOT NULL,
        waiting_since   timestamptz NOT NULL,  -- since the request reached its level
        deadline        timestamptz,           -- NULL, like approvers: stored before events carried it
        approvers       text[],                -- who may still decide it
        voted           text[]      NOT NULL   -- who has (no one votes twice on a request)
    );
    CREATE TABLE rm_activity (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE TABLE rm_nags (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        kind            text        NOT NULL CHECK (kind IN ('reminded', 'escalated')),
        stage           text        NOT NULL,
        owner           text        NOT NULL,
        recipient       text        NOT NULL,
        pipeline        text        NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_nags_at ON rm_nags (at);
    CREATE TABLE rm_clause_checks (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        contract_id     text        NOT NULL,
        failed          text[]      NOT NULL,  -- the checks that failed; empty: it passed
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_clause_checks_at ON rm_clause_checks (at);
    CREATE TABLE rm_relationships (
        stream_id       text        PRIMARY KEY,  -- <deal id>.after-sales
        deal_id         text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        customer        text        NOT NULL,
        won_at          timestamptz NOT NULL,
        started_at      timestamptz NOT NULL,
        closed_at       timestamptz
    );
    CREATE INDEX rm_relationships_started ON rm_relationships (started_at);
    CREATE TABLE rm_revisits (
        stream_id       text        NOT NULL,
        number          integer     NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        due_at          timestamptz NOT NULL,  -- as scheduled
        came_due_at     timestamptz NOT NULL,  -- when the engine gave the owner the task
        missed_at       timestamptz,
        answered_at     timestamptz,
        score           smallint,
        PRIMARY KEY (stream_id, number)
    );
    CREATE INDEX rm_revisits_came_due ON rm_revisits (came_due_at);
    CREATE INDEX rm_revisits_missed ON rm_revisits (missed_at);
    CREATE INDEX rm_revisits_answered ON rm_revisits (answered_at);
    CREATE TABLE rm_renewals (
        renewal_id      text        PRIMARY KEY,  -- the new opportunity
        stream_id       text        NOT NULL,
        deal_id         text        NOT NULL,
        pipeline        text        NOT NULL,
        owner           text        NOT NULL,
        opened_at       timestamptz NOT NULL,
        amount          numeric     NOT NULL
    );
    CREATE INDEX rm_renewals_opened ON rm_renewals (opened_at);
    """,
    """
    -- Every pipeline version a deal ever used, by the hash of its canonical JSON: the worker pins
    -- the exact rules at a deal's start (store/pipeline_versions.py).
    CREATE TABLE pipeline_versions (
        hash            text        PRIMARY KEY,
        pipeline_id     text        NOT NULL,
        body            jsonb       NOT NULL,
        first_seen      timestamptz NOT NULL DEFAULT clock_timestamp()
    );
    CREATE INDEX pipeline_versions_pipeline ON pipeline_versions (pipeline_id, first_seen);
    """,
    """
    -- Service accounts' API keys (store/api_keys.py): only a hash of each secret is kept; a key is
    -- found by its public id, and revoking one keeps its row for the audit.
    CREATE TABLE api_keys (
        key_id          text        PRIMARY KEY,
        service         text        NOT NULL,
        secret_sha256   bytea       NOT NULL,
        scopes          text[]      NOT NULL,
        created_by      text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        revoked_at      timestamptz
    );
    CREATE INDEX api_keys_service ON api_keys (service);
    """,
    """
    -- Discount decisions sent as signals that the rules refused (DiscountDecisionRefused): the
    -- approvals inbox shows each approver theirs (reports/projector_refusals.py). New events only.
    CREATE TABLE rm_refused_decisions (
        opportunity_id       text        NOT NULL,
        version              integer     NOT NULL,
        at                   timestamptz NOT NULL,
        approver             text        NOT NULL,  -- as the decision named them
        approve              boolean     NOT NULL,
        rule                 text        NOT NULL,
        message              text        NOT NULL,
        request_id           text,                  -- the discount request open then; NULL: none
        decision_request_id  text        NOT NULL,  -- the request id the decision was sent with
        actor                text,                  -- who sent it; NULL: unknown
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_refused_decisions_approver ON rm_refused_decisions (approver, at);
    """,
    """
    -- Web sign-in: one-time links and signed-out sessions, by digest (store/web_sign_ins.py).
    CREATE TABLE web_sign_ins (
        digest      bytea       PRIMARY KEY,
        kind        text        NOT NULL CHECK (kind IN ('link', 'signed-out')),
        person      text        NOT NULL,
        expires_at  timestamptz NOT NULL,
        used_at     timestamptz
    );
    """,
)
