-- What the recommendations service learns from other services' events: which products
-- exist, who bought what, what is bought together, and what is popular lately.

-- Products the catalog told us about. A product never seen here is still recommended;
-- one marked deleted never is. `updated_at` is the time of the event that last changed the
-- row, so that an older event arriving late cannot undo a newer one.
CREATE TABLE recommendations.known_products (
    product_id uuid PRIMARY KEY,
    deleted boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL
);

-- Each user's purchase history, one row per product they ever bought.
CREATE TABLE recommendations.user_purchases (
    user_id uuid NOT NULL,
    product_id uuid NOT NULL,
    quantity bigint NOT NULL CHECK (quantity > 0),
    last_purchased_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- How many orders contained both products. Every pair is stored in both directions, so
-- "bought with X" is a primary-key range scan on `product_id = X`.
CREATE TABLE recommendations.co_purchases (
    product_id uuid NOT NULL,
    other_product_id uuid NOT NULL,
    times bigint NOT NULL CHECK (times > 0),
    PRIMARY KEY (product_id, other_product_id),
    CHECK (product_id <> other_product_id)
);

-- A time-decayed count of the orders containing each product: `score` was exact at
-- `updated_at` and halves every half-life since (see `decayed` below).
CREATE TABLE recommendations.popularity (
    product_id uuid PRIMARY KEY,
    score double precision NOT NULL CHECK (score >= 0),
    updated_at timestamptz NOT NULL
);

-- `score`, measured at `since`, decayed exponentially to `at`:
-- score * 0.5 ^ (hours from `since` to `at` / half-life). Never grows: a time before `since`
-- counts as no time at all. The one definition of the decay, used on write and on read.
CREATE FUNCTION recommendations.decayed(
    score double precision,
    since timestamptz,
    at timestamptz,
    half_life_hours double precision
) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN score * power(0.5, greatest(extract(epoch FROM at - since), 0) / 3600 / half_life_hours);
