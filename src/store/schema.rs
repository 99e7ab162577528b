//! Diesel table definitions, kept in step with the migrations in `sql/`.

diesel::table! {
    /// The PRL (SSPR) library.
    prl_library (prl_id) {
        /// Operator's handle for the roaming list.
        prl_id -> Int4,
        /// PR_LIST_ID inside the PRL.
        pr_list_id -> Int4,
        /// SSPR_P_REV of the PRL format (1 classic, 3 extended).
        sspr_p_rev -> Int2,
        /// PR_LIST_CRC.
        pr_list_crc -> Int4,
        /// PR_LIST_SIZE in octets.
        pr_list_size -> Int4,
        /// Free text.
        description -> Text,
        /// The PRL octets.
        data -> Bytea,
        /// When imported.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Customer profiles.
    profiles (id) {
        /// Row id.
        id -> Int8,
        /// ESN, 8 upper-case hex digits.
        esn -> Nullable<Text>,
        /// MEID, 14 upper-case hex digits.
        meid -> Nullable<Text>,
        /// Pseudo-ESN derived from the MEID.
        pesn -> Nullable<Text>,
        /// MIN, 10 digits.
        min -> Nullable<Text>,
        /// MDN.
        mdn -> Nullable<Text>,
        /// IMSI_M.
        imsi_m -> Nullable<Text>,
        /// IMSI_T.
        imsi_t -> Nullable<Text>,
        /// Handset make.
        make -> Text,
        /// Handset model.
        model -> Text,
        /// Firmware version.
        firmware_version -> Text,
        /// Device capabilities (JSON).
        capabilities -> Jsonb,
        /// NAM settings (JSON).
        nam -> Jsonb,
        /// PRL in use.
        prl_id -> Nullable<Int4>,
        /// SSPR table number.
        sspr_table_number -> Nullable<Int2>,
        /// PRL waiting to be pushed.
        pending_prl_id -> Nullable<Int4>,
        /// OTAPA call-back URL of a pending push.
        otapa_callback_url -> Nullable<Text>,
        /// 3GPD settings (JSON).
        settings_3gpd -> Nullable<Jsonb>,
        /// PUZL settings (JSON).
        settings_puzl -> Nullable<Jsonb>,
        /// Service programming code.
        spc -> Nullable<Text>,
        /// SPASM key (16 hex digits), answers RAND_OTAPA on a protected NAM.
        spasm_key -> Nullable<Text>,
        /// pending_activation, activated or deactivated.
        activation_state -> Text,
        /// ESN-change flow: the new ESN.
        new_esn -> Nullable<Text>,
        /// ESN-change flow: the ESN last activated.
        activated_esn -> Nullable<Text>,
        /// When activated.
        activated_at -> Nullable<Timestamptz>,
        /// When created.
        created_at -> Timestamptz,
        /// When last changed.
        updated_at -> Timestamptz,
        /// Optimistic-concurrency version.
        version -> Int8,
    }
}

diesel::table! {
    /// OTA sessions.
    ota_sessions (id) {
        /// Row id.
        id -> Int8,
        /// Unguessable token for bearer URLs.
        token -> Text,
        /// The profile being programmed.
        profile_id -> Int8,
        /// Flow name.
        flow -> Text,
        /// iota or ss7.
        bearer -> Text,
        /// active, completed or failed.
        status -> Text,
        /// Final cause.
        cause -> Nullable<Text>,
        /// Flow state (JSON).
        state -> Jsonb,
        /// Optimistic-concurrency version.
        version -> Int8,
        /// When the session times out.
        deadline -> Nullable<Timestamptz>,
        /// When created.
        created_at -> Timestamptz,
        /// When last changed.
        updated_at -> Timestamptz,
        /// The PRL campaign it belongs to.
        campaign_id -> Nullable<Int8>,
        /// When the plan started (NULL: waiting for the handset's call-back).
        started_at -> Nullable<Timestamptz>,
        /// Handed to the SS7 fallback.
        fallback -> Bool,
        /// The handset's identity (MEID or ESN) when the session opened.
        device -> Nullable<Text>,
    }
}

diesel::table! {
    /// PRL campaigns.
    prl_campaigns (id) {
        /// Row id.
        id -> Int8,
        /// The PRL pushed.
        prl_id -> Int4,
        /// Who (JSON).
        target -> Jsonb,
        /// Subscribers targeted.
        total -> Int4,
        /// When created.
        created_at -> Timestamptz,
        /// pushing, paused, waiting, finished or cancelled.
        state -> Text,
        /// When last changed.
        updated_at -> Timestamptz,
        /// When it finished.
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    /// The subscribers of PRL campaigns, one row each.
    prl_campaign_targets (campaign_id, position) {
        /// The campaign.
        campaign_id -> Int8,
        /// Order in the list (0-based).
        position -> Int4,
        /// The subscriber as given.
        subscriber -> Text,
        /// The profile a make/model campaign resolved.
        profile_id -> Nullable<Int8>,
        /// pending, queued or skipped.
        state -> Text,
        /// Why it was skipped.
        cause -> Nullable<Text>,
        /// The push session of a queued target.
        session_id -> Nullable<Int8>,
        /// When last changed.
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    /// Audit detail records.
    audit_records (id) {
        /// Row id.
        id -> Int8,
        /// Session audited.
        session_id -> Nullable<Int8>,
        /// Profile concerned.
        profile_id -> Nullable<Int8>,
        /// Flow name.
        flow -> Text,
        /// Bearer.
        bearer -> Text,
        /// Session start.
        started_at -> Timestamptz,
        /// Session end.
        ended_at -> Timestamptz,
        /// IS-683 messages exchanged.
        messages_exchanged -> Int4,
        /// Outcome.
        outcome -> Text,
        /// Cause of a failure.
        cause -> Nullable<Text>,
        /// Extra detail (JSON).
        detail -> Jsonb,
    }
}

diesel::table! {
    /// The SMPP outbox: one row per submit_sm to send.
    outbox (id) {
        /// Row id.
        id -> Int8,
        /// wap_push or sms.
        kind -> Text,
        /// Destination address.
        destination -> Text,
        /// short_message octets (UDH included when esm_class has UDHI).
        payload -> Bytea,
        /// SMPP esm_class.
        esm_class -> Int2,
        /// SMPP data_coding.
        data_coding -> Int2,
        /// queued, submitting, submitted, delivered or failed.
        state -> Text,
        /// Claims so far.
        attempts -> Int4,
        /// Not to be claimed before.
        next_attempt_at -> Timestamptz,
        /// End of the current claim.
        lease_until -> Nullable<Timestamptz>,
        /// The SMSC's message_id.
        message_id -> Nullable<Text>,
        /// Failure cause.
        cause -> Nullable<Text>,
        /// OTA session that asked for it.
        session_id -> Nullable<Int8>,
        /// Campaign that asked for it.
        campaign_id -> Nullable<Int8>,
        /// When enqueued.
        created_at -> Timestamptz,
        /// When last changed.
        updated_at -> Timestamptz,
        /// `smsc` (submit_sm) or `ss7` (SMDPP to the serving MSC).
        bearer -> Text,
    }
}

diesel::table! {
    /// Operator and SMPP accounts.
    accounts (id) {
        /// Row id.
        id -> Int8,
        /// Login name (the system_id of an SMPP account).
        name -> Text,
        /// Role names.
        roles -> Array<Text>,
        /// argon2id PHC string (none: API keys only).
        password_hash -> Nullable<Text>,
        /// When disabled.
        disabled_at -> Nullable<Timestamptz>,
        /// When created.
        created_at -> Timestamptz,
        /// Who created it.
        created_by -> Text,
    }
}

diesel::table! {
    /// API keys.
    api_keys (id) {
        /// Row id.
        id -> Int8,
        /// The account it acts for.
        account_id -> Int8,
        /// Public prefix.
        prefix -> Text,
        /// SHA-256 of the whole key.
        secret_digest -> Bytea,
        /// Free text.
        label -> Text,
        /// Role names.
        roles -> Array<Text>,
        /// When it stops working.
        expires_at -> Nullable<Timestamptz>,
        /// When revoked.
        revoked_at -> Nullable<Timestamptz>,
        /// When last used.
        last_used_at -> Nullable<Timestamptz>,
        /// When created.
        created_at -> Timestamptz,
    }
}

diesel::table! {
    /// Who changed what, from any door.
    operator_audit (id) {
        /// Row id.
        id -> Int8,
        /// When.
        at -> Timestamptz,
        /// api, cli or ospp.
        door -> Text,
        /// The account.
        account_id -> Nullable<Int8>,
        /// The account's name.
        account -> Text,
        /// The API key's prefix.
        key_prefix -> Nullable<Text>,
        /// Route or command.
        action -> Text,
        /// Path or name acted on.
        target -> Text,
        /// HTTP status, ok, or a refusal code.
        outcome -> Text,
    }
}

diesel::joinable!(api_keys -> accounts (account_id));

diesel::joinable!(ota_sessions -> profiles (profile_id));
diesel::joinable!(ota_sessions -> prl_campaigns (campaign_id));
diesel::joinable!(prl_campaign_targets -> prl_campaigns (campaign_id));
diesel::joinable!(prl_campaign_targets -> ota_sessions (session_id));
diesel::allow_tables_to_appear_in_same_query!(
    prl_campaigns,
    prl_campaign_targets,
    prl_library,
    profiles,
    ota_sessions,
    audit_records,
    outbox,
    accounts,
    api_keys
);
