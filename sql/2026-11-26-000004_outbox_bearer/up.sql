-- Which way a queued message leaves the gateway:
--   smsc  a submit_sm to the SMSC (payload = short_message, UDH included); the SMPP sender
--         claims these rows.
--   ss7   an SMDPP straight to the serving MSC found with an SMSRequest to the HLR
--         (payload = IS-637 SMS_BearerData, teleservice 4100; destination = the MIN); the SS7
--         sender claims these rows. The SMDPP's ReturnResult is the delivery, so such a row goes
--         from submitting to delivered with a gateway-made reference as message_id.
ALTER TABLE outbox ADD COLUMN bearer TEXT NOT NULL DEFAULT 'smsc' CHECK (bearer IN ('smsc', 'ss7'));

DROP INDEX outbox_due_idx;
CREATE INDEX outbox_due_idx ON outbox (bearer, next_attempt_at) WHERE state IN ('queued', 'submitting');
