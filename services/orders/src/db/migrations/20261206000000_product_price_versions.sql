-- The catalog's version of each product the replica holds (`ProductUpserted.version`,
-- `ProductDeleted.version`): a row only ever moves to a newer version, so an event that
-- arrives late, or again, cannot bring back an old price or a deleted product. Rows from
-- before versions start at 0, below every real version.
ALTER TABLE orders.product_prices ADD COLUMN version bigint NOT NULL DEFAULT 0;
