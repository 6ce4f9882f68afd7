-- The catalog's version of each known product (`ProductUpserted.version`,
-- `ProductDeleted.version`): a row moves only to a newer version, so an event that arrives
-- late or again cannot bring back a deleted product, whatever the clocks say. Between
-- events from before versions (0), the later `updated_at` still decides.
ALTER TABLE recommendations.known_products ADD COLUMN version bigint NOT NULL DEFAULT 0;
