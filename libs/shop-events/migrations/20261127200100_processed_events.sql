-- shop-events: the events each consumer group has processed, for idempotent consumers.
--
-- A consumer inserts the event's id in the same transaction as the handler's changes; a
-- redelivered event conflicts on the key and is skipped. Keyed by group too, so that two
-- consumers of one service (two groups) reading the same topic each process every event.
CREATE TABLE processed_events (
    consumer_group text NOT NULL,
    event_id       uuid NOT NULL,
    processed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

-- Pruning of old entries.
CREATE INDEX processed_events_processed_at ON processed_events (processed_at);
