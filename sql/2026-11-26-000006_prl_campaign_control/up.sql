-- An OTAP admin can pause, resume and cancel a PRL campaign.
--   pushing --pause--> paused --resume--> pushing
--   pushing | paused | waiting --cancel--> cancelled (ended, like finished)
-- A paused campaign keeps its pending targets; no push is created for them until it resumes.
-- Cancelling skips the pending targets (cause 'cancelled'), fails the campaign's outbox rows no
-- sender has claimed yet and ends the sessions whose handset has not called back.
ALTER TABLE prl_campaigns DROP CONSTRAINT prl_campaigns_state_check;
ALTER TABLE prl_campaigns ADD CONSTRAINT prl_campaigns_state_check
    CHECK (state IN ('pushing', 'paused', 'waiting', 'finished', 'cancelled'));
