-- Failed sign-ins, counted per account (`email`) and per client address (`ip`) in fixed
-- windows. Kept in the database so that every instance sees the same counts.
CREATE TABLE users.login_failures (
    scope             text NOT NULL CHECK (scope IN ('email', 'ip')),
    -- The lower-cased email address, or the client's IP address.
    subject           text NOT NULL,
    failures          integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    PRIMARY KEY (scope, subject)
);
