//! Every enum the store keeps as text, spelled once with [`stored_enum!`]: the vocabulary the
//! repositories, the session core and the flows share. The repository modules re-export the
//! ones that belong to their table.

use super::stored_enum::stored_enum;

stored_enum! {
    /// Status of a session.
    pub enum SessionStatus("session status") {
        /// Running.
        Active = "active",
        /// Ended well.
        Completed = "completed",
        /// Ended with a cause.
        Failed = "failed",
    }
}

stored_enum! {
    /// The call flow a session belongs to (patent: the call flows of figures 2 to 4).
    pub enum Flow("flow") {
        /// One-button IOTA activation: the handset GETs its bootstrap URL.
        OneButton = "one-button",
        /// Star-code OTASP over SS7: an IVR's or operator's trigger with the call's TRN.
        StarCode = "star-code",
        /// Automated IOTA PRL download (OTAPA), woken by a WAP push.
        PrlPush = "prl-push",
        /// IVR-assisted star-code IOTA activation, woken by a WAP push.
        IvrStarCode = "ivr-star-code",
    }
}

stored_enum! {
    /// How the IS-683 exchange reaches the handset.
    pub enum Bearer("bearer") {
        /// IS-683 tunnelled over HTTP in MMC documents (IOTA).
        Iota = "iota",
        /// IS-683 relayed in SMDPP over SS7 (IS-725-A).
        Ss7 = "ss7",
    }
}

impl Flow {
    /// Whether the session waits for the handset to follow a pushed call-back URL.
    pub fn is_pushed(self) -> bool {
        matches!(self, Self::PrlPush | Self::IvrStarCode)
    }
}

stored_enum! {
    /// What a row carries.
    pub enum OutboxKind("outbox kind") {
        /// A WAP push (SI / SL / OMA CP), binary with a UDH.
        WapPush = "wap_push",
        /// A text SMS.
        Sms = "sms",
    }
}

stored_enum! {
    /// Which way a row leaves the gateway (the SMSC unless configured otherwise).
    #[derive(Default)]
    pub enum OutboxBearer("outbox bearer") {
        /// A `submit_sm` to the SMSC (payload: short_message, UDH included).
        #[default]
        Smsc = "smsc",
        /// An SMDPP to the serving MSC over SS7 (payload: IS-637 SMS_BearerData, teleservice
        /// 4100; destination: the MIN).
        Ss7 = "ss7",
    }
}

stored_enum! {
    /// Where a row is in its life (the variants in life order).
    pub enum OutboxState("outbox state") {
        /// Waiting for its `next_attempt_at`.
        Queued = "queued",
        /// Claimed by a sender, under lease.
        Submitting = "submitting",
        /// Accepted by the SMSC (has a message_id); waiting for the receipt.
        Submitted = "submitted",
        /// The receipt said delivered.
        Delivered = "delivered",
        /// Given up, with a cause.
        Failed = "failed",
    }
}

stored_enum! {
    /// Where a campaign stands.
    pub enum CampaignState("campaign state") {
        /// Targets are still pending: pushes are being created.
        Pushing = "pushing",
        /// Paused by an operator: targets are pending but no push is created until it resumes.
        Paused = "paused",
        /// Every target is queued or skipped; sessions are waiting for handsets or running.
        Waiting = "waiting",
        /// No target pending, no session active.
        Finished = "finished",
        /// Cancelled by an operator: ended, its pending targets skipped.
        Cancelled = "cancelled",
    }
}

stored_enum! {
    /// What an operator asks of a campaign (spelled as in the admin API and the command line).
    pub enum CampaignAction("campaign action") {
        /// Stop creating pushes, keep the pending targets.
        Pause = "pause",
        /// Create pushes again.
        Resume = "resume",
        /// End the campaign: skip the pending targets, drop the pushes not yet sent, end the
        /// sessions whose handset has not called back.
        Cancel = "cancel",
    }
}

stored_enum! {
    /// Where a target stands.
    pub enum TargetState("campaign target state") {
        /// Not worked on yet.
        Pending = "pending",
        /// Its push is queued (a session is open and the WAP push is in the outbox).
        Queued = "queued",
        /// Not pushed to, with a cause.
        Skipped = "skipped",
    }
}

stored_enum! {
    /// Activation state of a profile. Its stored spellings are the first ones; the others are
    /// read from hand-written input (a CSV import).
    pub enum ActivationState("activation state") {
        /// Known to the operator, not yet activated over the air.
        PendingActivation = "pending_activation" | "pending" | "",
        /// Programmed and committed.
        Activated = "activated",
        /// Taken out of service; its identities may be reused.
        Deactivated = "deactivated" | "de-activated",
    }
}
