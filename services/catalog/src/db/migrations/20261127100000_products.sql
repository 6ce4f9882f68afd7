-- Categories, products and their stock.

CREATE TABLE catalog.categories (
    id   uuid PRIMARY KEY,
    slug text NOT NULL CONSTRAINT categories_slug_key UNIQUE,
    name text NOT NULL
);

CREATE TABLE catalog.products (
    id                 uuid PRIMARY KEY,
    sku                text NOT NULL CONSTRAINT products_sku_key UNIQUE,
    name               text NOT NULL,
    description        text NOT NULL,
    category_id        uuid NOT NULL REFERENCES catalog.categories (id),
    price_amount_minor bigint NOT NULL CHECK (price_amount_minor >= 0),
    currency           char(3) NOT NULL,
    -- Never negative, whatever the code does: a reservation that would overdraw fails here.
    stock              integer NOT NULL CONSTRAINT products_stock_check CHECK (stock >= 0),
    image_url          text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    -- Full-text search: a match in the name ranks above one in the description.
    search             tsvector NOT NULL GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A')
        || setweight(to_tsvector('english', description), 'B')
    ) STORED
);

CREATE INDEX products_search_idx ON catalog.products USING gin (search);
CREATE INDEX products_category_id_idx ON catalog.products (category_id);
-- Lists are ordered by name.
CREATE INDEX products_name_idx ON catalog.products (name, id);
