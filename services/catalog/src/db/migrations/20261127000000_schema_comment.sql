COMMENT ON SCHEMA catalog IS 'Owned by the catalog service: products, categories and stock.';
