-- Orders per product per hour, for v2's "trending" ranking: the last N buckets summed are
-- the orders of the last N hours. Both versions write it (they share this schema during a
-- canary); buckets older than a week are deleted as orders for that product arrive.
CREATE TABLE recommendations.hourly_orders (
    product_id uuid NOT NULL,
    hour timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
    orders bigint NOT NULL CHECK (orders > 0),
    PRIMARY KEY (product_id, hour)
);

-- The trending query reads one window of hours across all products.
CREATE INDEX hourly_orders_by_hour ON recommendations.hourly_orders (hour);

-- What was ordered before this table existed is in `popularity`, which v2 falls back on.
