-- The subscriber's SPASM key: answers the RAND_OTAPA challenge of a handset whose NAM is
-- SPASM-protected (OTAPA Validate SPASM, AUTH_OTAPA). 64 bits as 16 upper-case hex digits.
-- Like the SPC it is a secret: never listed, logged or shown.
ALTER TABLE profiles ADD COLUMN spasm_key TEXT CHECK (spasm_key ~ '^[0-9A-F]{16}$');
