-- shop-events: the transactional outbox.
--
-- Lives in the schema of the service that runs it: names are unqualified and resolve through
-- the connection's search_path. A service writes a row in the same transaction as the state
-- change it announces (`outbox::enqueue`); the relay publishes unsent rows and marks them.
CREATE TABLE outbox (
    -- The envelope's id (UUID v7).
    id         uuid PRIMARY KEY,
    -- A topic of the contract, e.g. 'orders.events' (without any test prefix).
    topic      text NOT NULL,
    -- The Kafka message key: the aggregate id.
    key        text NOT NULL,
    -- The whole envelope.
    payload    jsonb NOT NULL,
    -- The trace context when the event was enqueued: {"traceparent": "...", "tracestate": "..."}.
    headers    jsonb NOT NULL DEFAULT '{}',
    -- The time of the INSERT itself, not of its transaction's start (which now() gives): of
    -- two transactions changing one aggregate, the one that commits second inserts second,
    -- so its event sorts after the first one's even if its transaction began earlier.
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at    timestamptz,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text
);

-- The relay's queue: unsent rows in publishing order.
CREATE INDEX outbox_unsent ON outbox (created_at, id) WHERE sent_at IS NULL;
-- Pruning of rows published long ago.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
