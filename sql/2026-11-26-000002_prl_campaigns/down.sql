DROP INDEX ota_sessions_campaign_idx;
ALTER TABLE ota_sessions DROP COLUMN campaign_id;
DROP TABLE prl_campaigns;
