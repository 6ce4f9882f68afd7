-- Orders reach the catalog through events, and an order may list a product that is gone
-- (deleted after the order was priced): a rejection too, recorded with those products.

ALTER TABLE catalog.stock_reservations
    ADD COLUMN unknown_product_ids uuid[] NOT NULL DEFAULT '{}';
