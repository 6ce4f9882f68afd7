-- What orders knows of catalog's side of each order, so that its reconciler can ask again
-- when an answer never came (an event lost with a broker's data, see `reconcile`):
--
-- - catalog_asked_at: when orders last asked catalog about the order (placing or
--   cancelling it, or asking again); catalog_reminders: how often it asked again since.
-- - confirmed_at: when catalog's reservation confirmed the order (a cancellation tells
--   catalog whether the order had been confirmed).
-- - stock_released_at: when catalog said a cancelled order holds no stock any more.
ALTER TABLE orders.orders
    ADD COLUMN catalog_asked_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN catalog_reminders integer NOT NULL DEFAULT 0 CHECK (catalog_reminders >= 0),
    ADD COLUMN confirmed_at timestamptz,
    ADD COLUMN stock_released_at timestamptz;

-- Orders settled before this migration are taken as answered: nothing to ask again.
UPDATE orders.orders SET confirmed_at = updated_at WHERE status = 'confirmed';
UPDATE orders.orders SET stock_released_at = updated_at WHERE status = 'cancelled';

-- The reconciler's work list: orders waiting for an answer from catalog.
CREATE INDEX orders_awaiting_catalog ON orders.orders (catalog_asked_at)
    WHERE status = 'pending' OR (status = 'cancelled' AND stock_released_at IS NULL);
