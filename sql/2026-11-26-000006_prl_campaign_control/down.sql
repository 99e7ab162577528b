-- A paused campaign would silently start pushing again: refuse while an operator holds one.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM prl_campaigns WHERE state = 'paused') THEN
        RAISE EXCEPTION 'PRL campaigns are paused: resume or cancel them before reverting';
    END IF;
END $$;
UPDATE prl_campaigns SET state = 'finished' WHERE state = 'cancelled';
ALTER TABLE prl_campaigns DROP CONSTRAINT prl_campaigns_state_check;
ALTER TABLE prl_campaigns ADD CONSTRAINT prl_campaigns_state_check
    CHECK (state IN ('pushing', 'waiting', 'finished'));
