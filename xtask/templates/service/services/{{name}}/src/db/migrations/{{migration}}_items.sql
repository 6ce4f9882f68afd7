-- Each customer's list: one row per product on it.
CREATE TABLE {{name}}.items (
    user_id uuid NOT NULL,
    product_id uuid NOT NULL,
    note text NOT NULL DEFAULT '' CHECK (char_length(note) <= 200),
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, product_id)
);

-- A product deleted from the catalog leaves every list (the event consumer's one query).
CREATE INDEX items_product_id ON {{name}}.items (product_id);
