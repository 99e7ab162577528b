-- PRL campaigns that resume: every subscriber of a campaign is a row, written with the campaign
-- in one transaction, then worked through one row per transaction (the PRL push and the row's
-- new state commit together), so a gateway that dies part-way loses no subscriber and pushes
-- none twice; any instance resumes what is left (rows claimed with FOR UPDATE SKIP LOCKED).
--
-- Life of a campaign:
--   pushing  -- targets still pending (pushes being created)
--   waiting  -- every target queued or skipped; sessions still waiting for handsets or running
--   finished -- no target pending and no session active
-- Campaigns created before this migration had all their pushes created at once: 'waiting'.
ALTER TABLE prl_campaigns
    ADD COLUMN state       TEXT        NOT NULL DEFAULT 'waiting'
                           CHECK (state IN ('pushing', 'waiting', 'finished')),
    ADD COLUMN updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN finished_at TIMESTAMPTZ;
ALTER TABLE prl_campaigns ALTER COLUMN state SET DEFAULT 'pushing';

-- Life of a target:
--   pending --push created (session opened, WAP push in the outbox)--> queued (session_id)
--   pending --cannot be pushed to--> skipped (cause: unknown-device, not-activated, no-mdn ...)
-- A malformed identity or a repeat of an earlier target is skipped when the campaign is created
-- (cause bad-identity / duplicate).
CREATE TABLE prl_campaign_targets (
    campaign_id BIGINT      NOT NULL REFERENCES prl_campaigns (id),
    -- Order in the list (0-based); targets are worked through in this order.
    position    INTEGER     NOT NULL CHECK (position >= 0),
    -- The subscriber as given (MDN, ESN, MEID), or "profile N" for a make/model campaign.
    subscriber  TEXT        NOT NULL,
    -- The profile a make/model campaign resolved when it was created.
    profile_id  BIGINT      REFERENCES profiles (id),
    state       TEXT        NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'queued', 'skipped')),
    -- Why a target was skipped.
    cause       TEXT,
    -- The push session of a queued target.
    session_id  BIGINT      REFERENCES ota_sessions (id),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, position),
    CHECK (state <> 'queued' OR session_id IS NOT NULL),
    CHECK (state <> 'skipped' OR cause IS NOT NULL)
);

-- What the worker claims next (campaign_id = $1 AND state = 'pending' ORDER BY position LIMIT 1),
-- and progress (targets counted by state). Not a partial index on state = 'pending': the states
-- arrive as bind parameters, which a generic plan cannot match against an index predicate.
CREATE INDEX prl_campaign_targets_state_idx
    ON prl_campaign_targets (campaign_id, state, position);

-- Pacing: a campaign's outbox rows still waiting to be sent (queued, submitting) are counted
-- before each round of its pushes; this keeps that count proportional to the rows waiting.
CREATE INDEX outbox_campaign_state_idx ON outbox (campaign_id, state) WHERE campaign_id IS NOT NULL;
