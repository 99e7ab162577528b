DROP INDEX ota_sessions_waiting_idx;

UPDATE ota_sessions SET state =
    CASE
        WHEN state -> 'link' ->> 'bearer' = 'ss7' THEN jsonb_build_object(
            'plan', state -> 'plan',
            'trn', state -> 'link' -> 'trn',
            'msc', state -> 'link' -> 'msc',
            'started_at', to_jsonb(COALESCE(started_at, created_at)))
        ELSE jsonb_build_object(
            'plan', state -> 'plan',
            'seq', state -> 'link' -> 'seq',
            'last_reply', state -> 'link' -> 'last_reply',
            'started_at', to_jsonb(COALESCE(started_at, created_at)))
    END
    || CASE WHEN fallback THEN '{"fallback": true}'::jsonb ELSE '{}'::jsonb END;

ALTER TABLE ota_sessions
    DROP COLUMN device,
    DROP COLUMN fallback,
    DROP COLUMN started_at;
