-- The SMPP outbox: every push and text SMS is a row here before it is a PDU on the wire.
--
-- One row is one SMPP short_message (one submit_sm). A WAP push that needs several segments is
-- enqueued as several rows in one transaction, each carrying its own UDH (concatenation +
-- ports) in `payload`; the segments share their correlation (session_id / campaign_id).
--
-- Life of a row:
--   queued --claim--> submitting (lease_until set, attempts + 1)
--     submitting --submit_sm_resp OK--> submitted (message_id set)
--     submitting --transient error--> queued (next_attempt_at later) or failed at max attempts
--     submitting --permanent error--> failed (cause)
--     submitting --lease expired (gateway died)--> claimed again, or failed at max attempts
--   submitted --delivery receipt DELIVRD--> delivered
--   submitted --delivery receipt UNDELIV/EXPIRED/REJECTD/DELETED--> failed (cause)
CREATE TABLE outbox (
    id              BIGSERIAL   PRIMARY KEY,
    kind            TEXT        NOT NULL CHECK (kind IN ('wap_push', 'sms')),
    -- Destination address (MSISDN / MDN digits, optionally with a leading '+').
    destination     TEXT        NOT NULL CHECK (destination ~ '^\+?[0-9]{1,20}$'),
    -- The submit_sm short_message octets, UDH included when esm_class has UDHI (0x40).
    payload         BYTEA       NOT NULL CHECK (octet_length(payload) <= 255),
    esm_class       SMALLINT    NOT NULL CHECK (esm_class BETWEEN 0 AND 255),
    data_coding     SMALLINT    NOT NULL CHECK (data_coding BETWEEN 0 AND 255),
    state           TEXT        NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'submitting', 'submitted', 'delivered', 'failed')),
    -- Claims so far (a claim is an attempt, whether or not the PDU left the gateway).
    attempts        INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- While 'submitting': the claim is void after this instant and the row may be claimed again.
    lease_until     TIMESTAMPTZ,
    -- The SMSC's message_id from submit_sm_resp.
    message_id      TEXT,
    -- Why the row failed (or why the last attempt did not succeed).
    cause           TEXT,
    session_id      BIGINT,
    campaign_id     BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (state <> 'submitting' OR lease_until IS NOT NULL),
    CHECK (state NOT IN ('submitted', 'delivered') OR message_id IS NOT NULL)
);

-- Receipts are correlated by the SMSC's message_id.
CREATE UNIQUE INDEX outbox_message_id_key ON outbox (message_id);
-- What claim_due scans.
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state IN ('queued', 'submitting');
CREATE INDEX outbox_session_idx ON outbox (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX outbox_campaign_idx ON outbox (campaign_id) WHERE campaign_id IS NOT NULL;
