-- Session rows get real columns for what SQL filters on, and a typed state.
--
-- started_at: when the plan started (its first request left); NULL while a pushed session
--   waits for the handset's call-back. It was state->'started_at', with state->'seq' = 0
--   meaning "not called back".
-- fallback: the deadline scheduler handed this PRL push to the SS7 fallback (was the key
--   state->'fallback').
-- device: the handset's identity (MEID or ESN) when the session opened, for logs and traces.
--
-- The state keeps the plan and the bearer's own part under "link", tagged by bearer:
--   {"plan": ..., "link": {"bearer": "iota", "seq": N, "last_reply": "..."}}
--   {"plan": ..., "link": {"bearer": "ss7", "trn": "...", "msc": {...}}}
ALTER TABLE ota_sessions
    ADD COLUMN started_at TIMESTAMPTZ,
    ADD COLUMN fallback   BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN device     TEXT;

UPDATE ota_sessions SET
    started_at = CASE
        WHEN state ->> 'seq' = '0' THEN NULL
        ELSE COALESCE((state ->> 'started_at')::timestamptz, created_at)
    END,
    fallback = state ? 'fallback',
    state = jsonb_build_object(
        'plan', state -> 'plan',
        'link', CASE
            WHEN state ? 'msc' THEN jsonb_build_object(
                'bearer', 'ss7',
                'trn', COALESCE(state -> 'trn', 'null'::jsonb),
                'msc', state -> 'msc')
            ELSE jsonb_build_object(
                'bearer', 'iota',
                'seq', COALESCE(state -> 'seq', '0'::jsonb),
                'last_reply', COALESCE(state -> 'last_reply', '""'::jsonb))
        END);

UPDATE ota_sessions AS s
SET device = COALESCE(p.meid, p.esn, p.pesn)
FROM profiles AS p
WHERE p.id = s.profile_id;

-- The pushed sessions still waiting for a call-back (a campaign's cancel, the pending OTAPA by
-- MDN) are found by these columns.
CREATE INDEX ota_sessions_waiting_idx ON ota_sessions (campaign_id)
    WHERE status = 'active' AND started_at IS NULL AND NOT fallback;
