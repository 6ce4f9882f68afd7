COMMENT ON SCHEMA orders IS 'Owned by the orders service: orders, their lines and saga state.';
