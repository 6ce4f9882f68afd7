COMMENT ON SCHEMA users IS 'Owned by the users service: accounts, password hashes and signing keys.';
