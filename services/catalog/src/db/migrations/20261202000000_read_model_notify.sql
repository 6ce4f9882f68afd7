-- The read model's invalidation path (see `read_model.rs`): every change to a product or a
-- category, whoever makes it (an admin, the seed, a stock reservation, a psql session), is
-- announced on the channel `catalog_read_model`. Postgres delivers a NOTIFY only when its
-- transaction commits, and not at all when it rolls back, so a replica never drops a cached
-- product for a change that did not happen, nor misses one that did.
--
-- The payload is a product's id, or `*`: forget everything (a category changed, and every
-- product embeds its category; or a table was truncated).

CREATE FUNCTION catalog.announce_product_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('catalog_read_model', OLD.id::text);
    ELSE
        PERFORM pg_notify('catalog_read_model', NEW.id::text);
        IF TG_OP = 'UPDATE' AND NEW.id <> OLD.id THEN
            PERFORM pg_notify('catalog_read_model', OLD.id::text);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION catalog.announce_catalog_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('catalog_read_model', '*');
    RETURN NULL;
END
$$;

CREATE TRIGGER products_announce_change
    AFTER INSERT OR UPDATE OR DELETE ON catalog.products
    FOR EACH ROW EXECUTE FUNCTION catalog.announce_product_change();

CREATE TRIGGER products_announce_truncate
    AFTER TRUNCATE ON catalog.products
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.announce_catalog_reset();

-- Once per statement (and Postgres folds identical notifications of one transaction into
-- one): the seed's insert of every category sends a single `*`.
CREATE TRIGGER categories_announce_change
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON catalog.categories
    FOR EACH STATEMENT EXECUTE FUNCTION catalog.announce_catalog_reset();
