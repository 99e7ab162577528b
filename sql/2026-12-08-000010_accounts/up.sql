-- Accounts, API keys and the operator audit (issue #10).
--
-- accounts: operators (API, console) and SMPP tools (the OSPP handler's system_ids). The name
--   is the login and, for SMPP roles, the system_id. password_hash is an argon2id PHC string,
--   NULL for an account that only uses API keys; an empty password cannot be stored (the
--   application refuses it before hashing). roles are the names of the roles of src/access.
-- api_keys: the public prefix finds the key; secret_digest is the SHA-256 of the whole key.
--   Its roles are a subset of its account's when made; at use, a role counts only if the
--   account still has it.
-- operator_audit: one row per state-changing request from any door (api, cli, ospp): who
--   (the account, and the key's prefix), what (the route or command), on what (the path or
--   name), and the outcome (the HTTP status, ok, or the refusal code).
CREATE TABLE accounts (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    roles         TEXT[] NOT NULL CHECK (cardinality(roles) > 0),
    password_hash TEXT CHECK (password_hash IS NULL OR password_hash LIKE '$argon2id$%'),
    disabled_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by    TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            BIGSERIAL PRIMARY KEY,
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    prefix        TEXT NOT NULL UNIQUE,
    secret_digest BYTEA NOT NULL,
    label         TEXT NOT NULL DEFAULT '',
    roles         TEXT[] NOT NULL CHECK (cardinality(roles) > 0),
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_account_idx ON api_keys (account_id);

CREATE TABLE operator_audit (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    door        TEXT NOT NULL CHECK (door IN ('api', 'cli', 'ospp')),
    account_id  BIGINT REFERENCES accounts (id),
    account     TEXT NOT NULL,
    key_prefix  TEXT,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    outcome     TEXT NOT NULL
);

CREATE INDEX operator_audit_account_idx ON operator_audit (account, at);
