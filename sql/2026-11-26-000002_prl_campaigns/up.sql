-- PRL campaigns: one PRL pushed to many subscribers (a list, or every activated profile of a
-- make/model). Each subscriber gets its own prl-push session, tagged with the campaign.
CREATE TABLE prl_campaigns (
    id          BIGSERIAL   PRIMARY KEY,
    prl_id      INTEGER     NOT NULL REFERENCES prl_library (prl_id),
    target      JSONB       NOT NULL,
    total       INTEGER     NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE ota_sessions ADD COLUMN campaign_id BIGINT REFERENCES prl_campaigns (id);
CREATE INDEX ota_sessions_campaign_idx ON ota_sessions (campaign_id) WHERE campaign_id IS NOT NULL;
