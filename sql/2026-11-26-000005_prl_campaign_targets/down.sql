DROP TABLE prl_campaign_targets;
DROP INDEX prl_campaigns_unfinished_idx;
ALTER TABLE prl_campaigns
    DROP COLUMN finished_at,
    DROP COLUMN updated_at,
    DROP COLUMN state;
