-- The customer-profile store: the central repository of device settings (patent US 9,332,424),
-- the SSPR/PRL library, OTA sessions and audit detail records.

-- The PRL (SSPR) library. prl_id is the operator's handle for a roaming list (what profiles and
-- campaigns refer to); pr_list_id is the PR_LIST_ID carried inside the PRL itself.
CREATE TABLE prl_library (
    prl_id       INTEGER     PRIMARY KEY CHECK (prl_id >= 0),
    pr_list_id   INTEGER     NOT NULL CHECK (pr_list_id BETWEEN 0 AND 65535),
    sspr_p_rev   SMALLINT    NOT NULL CHECK (sspr_p_rev IN (1, 3)),
    pr_list_crc  INTEGER     NOT NULL CHECK (pr_list_crc BETWEEN 0 AND 65535),
    pr_list_size INTEGER     NOT NULL CHECK (pr_list_size BETWEEN 1 AND 65535),
    description  TEXT        NOT NULL DEFAULT '',
    data         BYTEA       NOT NULL CHECK (octet_length(data) = pr_list_size),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE profiles (
    id                 BIGSERIAL   PRIMARY KEY,
    -- Device identity: an ESN, or a MEID (whose pseudo-ESN is derived and stored for lookups).
    esn                TEXT        CHECK (esn ~ '^[0-9A-F]{8}$'),
    meid               TEXT        CHECK (meid ~ '^[0-9A-F]{14}$'),
    pesn               TEXT        CHECK (pesn ~ '^80[0-9A-F]{6}$'),
    min                TEXT        CHECK (min ~ '^[0-9]{10}$'),
    mdn                TEXT        CHECK (mdn ~ '^[0-9]{1,15}$'),
    imsi_m             TEXT        CHECK (imsi_m ~ '^[0-9]{6,15}$'),
    imsi_t             TEXT        CHECK (imsi_t ~ '^[0-9]{6,15}$'),
    make               TEXT        NOT NULL DEFAULT '',
    model              TEXT        NOT NULL DEFAULT '',
    firmware_version   TEXT        NOT NULL DEFAULT '',
    -- Device capabilities: IOTA, OMA-DM, BREW, SSPR_P_REV, band classes (JSON object).
    capabilities       JSONB       NOT NULL DEFAULT '{}',
    -- NAM settings: home SID/NID pairs, MCC, IMSI_11_12, ACCOLC, mobile-termination flags,
    -- first paging channel (JSON object, validated by the gateway before it is written).
    nam                JSONB       NOT NULL DEFAULT '{}',
    prl_id             INTEGER     REFERENCES prl_library (prl_id),
    sspr_table_number  SMALLINT,
    pending_prl_id     INTEGER     REFERENCES prl_library (prl_id),
    otapa_callback_url TEXT,
    settings_3gpd      JSONB,
    settings_puzl      JSONB,
    -- Service programming code: six decimal digits. Never logged, never listed.
    spc                TEXT        CHECK (spc ~ '^[0-9]{6}$'),
    activation_state   TEXT        NOT NULL DEFAULT 'pending_activation'
                       CHECK (activation_state IN ('pending_activation', 'activated', 'deactivated')),
    -- ESN-change flow: the ESN a subscriber moves to, and the ESN last activated.
    new_esn            TEXT        CHECK (new_esn ~ '^[0-9A-F]{8}$'),
    activated_esn      TEXT        CHECK (activated_esn ~ '^[0-9A-F]{8}$'),
    activated_at       TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    version            BIGINT      NOT NULL DEFAULT 0,
    CHECK (esn IS NOT NULL OR meid IS NOT NULL),
    CHECK ((meid IS NULL) = (pesn IS NULL))
);

-- Identity is unique among profiles that are not de-activated.
CREATE UNIQUE INDEX profiles_esn_active_key  ON profiles (esn)  WHERE activation_state <> 'deactivated';
CREATE UNIQUE INDEX profiles_meid_active_key ON profiles (meid) WHERE activation_state <> 'deactivated';
CREATE UNIQUE INDEX profiles_mdn_active_key  ON profiles (mdn)  WHERE activation_state <> 'deactivated';
CREATE UNIQUE INDEX profiles_min_active_key  ON profiles (min)  WHERE activation_state <> 'deactivated';
CREATE INDEX profiles_pesn_idx ON profiles (pesn);
CREATE INDEX profiles_make_model_idx ON profiles (make, model);

-- OTA sessions are rows, so any gateway instance can continue any session.
CREATE TABLE ota_sessions (
    id          BIGSERIAL   PRIMARY KEY,
    -- Unguessable token used in bearer URLs.
    token       TEXT        NOT NULL UNIQUE,
    profile_id  BIGINT      NOT NULL REFERENCES profiles (id),
    flow        TEXT        NOT NULL,
    bearer      TEXT        NOT NULL CHECK (bearer IN ('iota', 'ss7')),
    status      TEXT        NOT NULL DEFAULT 'active'
                CHECK (status IN ('active', 'completed', 'failed')),
    cause       TEXT,
    -- The flow's state machine, serialized by the gateway.
    state       JSONB       NOT NULL DEFAULT '{}',
    version     BIGINT      NOT NULL DEFAULT 0,
    deadline    TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX ota_sessions_deadline_idx ON ota_sessions (deadline) WHERE status = 'active';
CREATE INDEX ota_sessions_profile_idx ON ota_sessions (profile_id);

-- One audit detail record per session.
CREATE TABLE audit_records (
    id                 BIGSERIAL   PRIMARY KEY,
    session_id         BIGINT      REFERENCES ota_sessions (id),
    profile_id         BIGINT      REFERENCES profiles (id),
    flow               TEXT        NOT NULL,
    bearer             TEXT        NOT NULL,
    started_at         TIMESTAMPTZ NOT NULL,
    ended_at           TIMESTAMPTZ NOT NULL,
    messages_exchanged INTEGER     NOT NULL DEFAULT 0 CHECK (messages_exchanged >= 0),
    outcome            TEXT        NOT NULL,
    cause              TEXT,
    detail             JSONB       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_records_profile_idx ON audit_records (profile_id);
CREATE INDEX audit_records_session_idx ON audit_records (session_id);
