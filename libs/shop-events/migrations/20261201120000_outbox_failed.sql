-- shop-events: a message the broker refuses for good (too large, invalid) is set aside
-- instead of being retried forever at the head of the outbox, where it would hold back every
-- event behind it. `failed_at` marks it; `last_error` says why; it stays for investigation
-- (pruning removes only published rows) and can be re-queued by clearing `failed_at`.
ALTER TABLE outbox ADD COLUMN failed_at timestamptz;

-- The relay's queue: rows neither published nor set aside, in publishing order.
DROP INDEX outbox_unsent;
CREATE INDEX outbox_unsent ON outbox (created_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
-- Rows set aside, for whoever investigates them.
CREATE INDEX outbox_failed ON outbox (failed_at) WHERE failed_at IS NOT NULL;
