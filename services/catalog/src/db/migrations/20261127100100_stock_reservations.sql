-- Stock held for orders (the checkout saga), one row per order: its outcome is recorded so
-- that repeating a request returns the same answer without touching stock again.

CREATE TABLE catalog.stock_reservations (
    order_id   uuid PRIMARY KEY,
    status     text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released')),
    -- For a rejected reservation: the products that were short of stock.
    short_product_ids uuid[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- No foreign key to products: a reservation is a record of what happened, and deleting a
-- product must not depend on the orders that once held it.
CREATE TABLE catalog.stock_reservation_lines (
    order_id   uuid NOT NULL REFERENCES catalog.stock_reservations (order_id) ON DELETE CASCADE,
    product_id uuid NOT NULL,
    quantity   integer NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, product_id)
);
