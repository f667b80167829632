"""The event store schema, applied automatically and in order, once, whoever gets there first."""

from typing import Any

from psycopg import AsyncConnection

from store.migration_ddl import FIRST_MIGRATIONS

# Each entry is one migration; append new ones here, never edit applied ones (the first twelve are
# in store/migration_ddl.py).
MIGRATIONS: tuple[str, ...] = (
    *FIRST_MIGRATIONS,
    """
    -- The outbox delivered (runtime/outbox_dispatcher.py): what a notification is about beyond its
    -- text (an approval request's id and deadline, for its links), when its deliveries were planned
    -- from the recipient's preferences, and one row per channel with its attempts. A pending row is
    -- due at next_attempt_at; a dispatcher holds one by moving it ahead (a lease), so a dispatcher
    -- killed mid-delivery leaves it due again once the lease runs out.
    ALTER TABLE notifications ADD COLUMN details jsonb NOT NULL DEFAULT '{}';
    ALTER TABLE notifications ADD COLUMN routed_at timestamptz;
    CREATE INDEX notifications_unrouted ON notifications (created_at) WHERE routed_at IS NULL;
    CREATE TABLE notification_deliveries (
        key              text        NOT NULL REFERENCES notifications (key) ON DELETE CASCADE,
        channel          text        NOT NULL CHECK (channel IN ('email', 'webhook')),
        address          text        NOT NULL,  -- the mailbox or the URL
        status           text        NOT NULL DEFAULT 'pending'
                                     CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts         integer     NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
        last_error       text,
        finished_at      timestamptz,
        PRIMARY KEY (key, channel)
    );
    CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
        WHERE status = 'pending';
    CREATE INDEX notification_deliveries_failed ON notification_deliveries (finished_at)
        WHERE status = 'failed';
    -- Approval links used (store/approval_links.py): by a hash of the link pair's id.
    CREATE TABLE approval_link_uses (
        digest      bytea       PRIMARY KEY,
        person      text        NOT NULL,
        stream_id   text        NOT NULL,
        request_id  text        NOT NULL,
        approve     boolean     NOT NULL,
        used_at     timestamptz NOT NULL DEFAULT now()
    );
    """,
    """
    -- The forecast's facts per deal (reports/projector_forecast.py): every expected close date set
    -- (with the one before it: a later date is a push, an earlier one a pull-in) and every forecast
    -- category set on a deal (NULL: back to its stage's). Both only gain rows.
    CREATE TABLE rm_close_dates (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        close_date      date        NOT NULL,
        previous        date,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_close_dates_at ON rm_close_dates (at);
    CREATE TABLE rm_forecast_categories (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        category        text,
        PRIMARY KEY (opportunity_id, version)
    );
    """,
    """
    -- Every vote on a discount request, for an approver's "what I decided before"
    -- (reports/decided_by.py). Votes already stored are projected again: every read model is
    -- emptied and the next catch-up replays the log.
    CREATE TABLE rm_discount_votes (
        opportunity_id  text        NOT NULL,
        version         integer     NOT NULL,
        at              timestamptz NOT NULL,
        request_id      text        NOT NULL,
        approver        text        NOT NULL,
        approve         boolean     NOT NULL,
        comment         text        NOT NULL,
        level_name      text        NOT NULL,
        PRIMARY KEY (opportunity_id, version)
    );
    CREATE INDEX rm_discount_votes_approver ON rm_discount_votes (approver, at);
    DO $$
    DECLARE read_model text;
    BEGIN
        FOR read_model IN SELECT tablename FROM pg_tables
                          WHERE schemaname = current_schema() AND starts_with(tablename, 'rm_')
        LOOP
            EXECUTE format('TRUNCATE %I', read_model);
        END LOOP;
    END $$;
    DELETE FROM projector_checkpoints WHERE name = 'read_models';
    """,
)

# Any constant will do: it names the lock that serialises migrations across processes.
_MIGRATION_LOCK = 7_301_001


async def migrate(conn: AsyncConnection[Any]) -> int:
    """Apply the migrations this database lacks; return the schema version now in place."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS dealflow_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM dealflow_migrations")
        row = await cur.fetchone()
        current = int(row[0]) if row else 0
        for version, ddl in enumerate(MIGRATIONS[current:], start=current + 1):
            await conn.execute(ddl)
            await conn.execute("INSERT INTO dealflow_migrations (version) VALUES (%s)", (version,))
    return len(MIGRATIONS)
