COMMENT ON SCHEMA recommendations IS 'Owned by the recommendations service: purchase history, co-purchase pairs and popularity.';
