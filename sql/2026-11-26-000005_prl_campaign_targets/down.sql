DROP INDEX outbox_campaign_state_idx;
DROP TABLE prl_campaign_targets;
ALTER TABLE prl_campaigns
    DROP COLUMN finished_at,
    DROP COLUMN updated_at,
    DROP COLUMN state;
