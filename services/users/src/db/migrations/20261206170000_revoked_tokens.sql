-- Access tokens revoked before their expiry (signed out), by their `jti`. A row is useless
-- once its token has expired anyway: signing out deletes those.
CREATE TABLE users.revoked_tokens (
    jti        uuid PRIMARY KEY,
    expires_at timestamptz NOT NULL
);
