-- What orders knows of catalog's products: a replica fed by catalog's ProductUpserted and
-- ProductDeleted events. Orders prices new orders from it, so it keeps taking orders while
-- catalog is down; catalog stays the owner, this is only a read model.
CREATE TABLE orders.product_prices (
    product_id          uuid PRIMARY KEY,
    name                text NOT NULL,
    unit_price_minor    bigint NOT NULL CHECK (unit_price_minor >= 0),
    currency            char(3) NOT NULL,
    deleted             boolean NOT NULL DEFAULT false,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
