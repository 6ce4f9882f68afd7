-- Accounts: who may sign in, and as what.
CREATE TABLE users.accounts (
    id            uuid PRIMARY KEY,
    -- As typed at registration; unique regardless of case (see the index below).
    email         text NOT NULL,
    name          text NOT NULL,
    -- An Argon2id PHC string, never the password.
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'customer' CHECK (role IN ('customer', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- One account per address, whatever its case: the database enforces it, so two concurrent
-- registrations cannot both succeed. The service maps a violation to 409 by this name.
CREATE UNIQUE INDEX accounts_email_key ON users.accounts (lower(email));
