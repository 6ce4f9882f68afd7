-- Each product's version: a number that grows with every change of the product, carried by
-- its events (`ProductUpserted`, `ProductDeleted`) so that consumers keep their copies
-- monotonic: an event that arrives late, or again, never brings back an older state.
--
-- One sequence for all products, so that a product deleted and created again under the
-- same id goes on above the versions it had. The trigger takes the next number after the
-- row is locked, so for one product the order of versions is the order of commits.

CREATE SEQUENCE catalog.product_versions;

ALTER TABLE catalog.products
    ADD COLUMN version bigint NOT NULL DEFAULT nextval('catalog.product_versions');

CREATE FUNCTION catalog.next_product_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := nextval('catalog.product_versions');
    RETURN NEW;
END
$$;

CREATE TRIGGER product_version BEFORE UPDATE ON catalog.products
    FOR EACH ROW EXECUTE FUNCTION catalog.next_product_version();
