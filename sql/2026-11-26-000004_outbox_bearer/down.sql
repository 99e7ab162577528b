DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state IN ('queued', 'submitting');
ALTER TABLE outbox DROP COLUMN bearer;
