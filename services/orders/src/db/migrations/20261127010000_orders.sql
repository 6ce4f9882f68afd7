-- Orders and their lines. Prices are copied from catalog when the order is placed:
-- an order keeps the price the customer saw, whatever the catalog says later.
CREATE TABLE orders.orders (
    id                  uuid PRIMARY KEY,
    user_id             uuid NOT NULL,
    status              text NOT NULL
                        CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
    total_amount_minor  bigint NOT NULL CHECK (total_amount_minor >= 0),
    currency            char(3) NOT NULL,
    -- The client's Idempotency-Key and the request it came with (canonical JSON): the same key
    -- with the same request returns this order; with another request it is refused.
    idempotency_key     text NOT NULL,
    request_fingerprint text NOT NULL,
    -- Why an order was rejected (for example which products were out of stock).
    status_reason       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_idempotency_key_per_user UNIQUE (user_id, idempotency_key)
);

-- "My orders, newest first".
CREATE INDEX orders_by_user_newest_first ON orders.orders (user_id, created_at DESC, id DESC);

CREATE TABLE orders.order_lines (
    order_id            uuid NOT NULL REFERENCES orders.orders (id) ON DELETE CASCADE,
    line_no             integer NOT NULL,
    product_id          uuid NOT NULL,
    product_name        text NOT NULL,
    unit_price_minor    bigint NOT NULL CHECK (unit_price_minor >= 0),
    quantity            integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, line_no)
);
