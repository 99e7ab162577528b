UPDATE prl_campaigns SET state = 'finished' WHERE state = 'cancelled';
UPDATE prl_campaigns SET state = 'pushing' WHERE state = 'paused';
ALTER TABLE prl_campaigns DROP CONSTRAINT prl_campaigns_state_check;
ALTER TABLE prl_campaigns ADD CONSTRAINT prl_campaigns_state_check
    CHECK (state IN ('pushing', 'waiting', 'finished'));
