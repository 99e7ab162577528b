-- Unsent SS7 rows would look like SMSC rows once the column is gone (IS-637 bearer data
-- submitted to a MIN): they fail first, with a cause.
UPDATE outbox
   SET state = 'failed', cause = 'migration reverted: the SS7 bearer was removed',
       lease_until = NULL, updated_at = now()
 WHERE bearer = 'ss7' AND state IN ('queued', 'submitting');
DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state IN ('queued', 'submitting');
ALTER TABLE outbox DROP COLUMN bearer;
