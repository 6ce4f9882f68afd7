-- A rotated key is published before it signs: verifiers that cached the JWKS (for up to
-- its max-age) learn it before the first token it signs reaches them.
ALTER TABLE users.signing_keys ADD COLUMN active_from timestamptz;
UPDATE users.signing_keys SET active_from = created_at;
ALTER TABLE users.signing_keys ALTER COLUMN active_from SET NOT NULL;
ALTER TABLE users.signing_keys ALTER COLUMN active_from SET DEFAULT now();
