//! Rows of the customer-profile store, and the typed settings kept in its JSON columns.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

pub use super::enums::ActivationState;
use super::enums::{Bearer, Flow, SessionStatus};
use super::schema::{audit_records, ota_sessions, prl_library, profiles};
use super::StoreError;

/// What a device can do, as far as provisioning is concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Capabilities {
    /// Speaks IOTA (IS-683 over HTTP).
    pub iota: bool,
    /// Has an OMA-DM client.
    pub oma_dm: bool,
    /// Runs BREW.
    pub brew: bool,
    /// SSPR_P_REV the device supports (1 classic PRL, 3 extended PRL), when known.
    pub sspr_p_rev: Option<u8>,
    /// CDMA band classes supported.
    pub band_classes: Vec<u8>,
}

/// One home SID/NID pair of a NAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SidNid {
    /// SID, 15 bits.
    pub sid: u16,
    /// NID, 16 bits (65535 matches any network).
    pub nid: u16,
}

/// The NAM settings a profile defines (IS-683 NAM parameter blocks 0 and 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamSettings {
    /// Home SID/NID pairs.
    pub home_sid_nid: Vec<SidNid>,
    /// MCC, 3 digits.
    pub mcc: Option<String>,
    /// IMSI_11_12, 2 digits.
    pub imsi_11_12: Option<String>,
    /// ACCOLC, overload class 0-15.
    pub accolc: Option<u8>,
    /// MOB_TERM_HOME.
    pub mob_term_home: bool,
    /// MOB_TERM_FOR_SID.
    pub mob_term_for_sid: bool,
    /// MOB_TERM_FOR_NID.
    pub mob_term_for_nid: bool,
    /// FIRSTCHP, the first paging channel (11 bits).
    pub first_paging_channel: Option<u16>,
}

impl Default for NamSettings {
    fn default() -> Self {
        Self {
            home_sid_nid: Vec::new(),
            mcc: None,
            imsi_11_12: None,
            accolc: None,
            mob_term_home: true,
            mob_term_for_sid: true,
            mob_term_for_nid: true,
            first_paging_channel: None,
        }
    }
}

/// A customer profile as the gateway reads it. The service programming code and the SPASM key
/// are deliberately not part of it: read them with [`super::profiles::spc`] and
/// [`super::profiles::spasm_key`] where programming needs them.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize)]
#[diesel(table_name = profiles, check_for_backend(diesel::pg::Pg))]
pub struct Profile {
    /// Row id.
    pub id: i64,
    /// ESN.
    pub esn: Option<String>,
    /// MEID.
    pub meid: Option<String>,
    /// Pseudo-ESN of the MEID.
    pub pesn: Option<String>,
    /// MIN.
    pub min: Option<String>,
    /// MDN.
    pub mdn: Option<String>,
    /// IMSI_M.
    pub imsi_m: Option<String>,
    /// IMSI_T.
    pub imsi_t: Option<String>,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Capabilities (JSON; see [`Capabilities`]).
    pub capabilities: serde_json::Value,
    /// NAM settings (JSON; see [`NamSettings`]).
    pub nam: serde_json::Value,
    /// PRL in use.
    pub prl_id: Option<i32>,
    /// SSPR table number.
    pub sspr_table_number: Option<i16>,
    /// PRL waiting to be pushed.
    pub pending_prl_id: Option<i32>,
    /// OTAPA call-back URL.
    pub otapa_callback_url: Option<String>,
    /// 3GPD settings.
    pub settings_3gpd: Option<serde_json::Value>,
    /// PUZL settings.
    pub settings_puzl: Option<serde_json::Value>,
    /// Activation state (see [`ActivationState`]).
    pub activation_state: String,
    /// ESN-change flow: new ESN.
    pub new_esn: Option<String>,
    /// ESN-change flow: ESN last activated.
    pub activated_esn: Option<String>,
    /// When activated.
    pub activated_at: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version.
    pub version: i64,
}

impl Profile {
    /// The typed capabilities.
    pub fn capabilities(&self) -> Result<Capabilities, StoreError> {
        serde_json::from_value(self.capabilities.clone()).map_err(|e| StoreError::InvalidValue {
            field: "capabilities",
            reason: e.to_string(),
        })
    }

    /// The typed NAM settings.
    pub fn nam(&self) -> Result<NamSettings, StoreError> {
        serde_json::from_value(self.nam.clone()).map_err(|e| StoreError::InvalidValue {
            field: "nam",
            reason: e.to_string(),
        })
    }

    /// The typed activation state.
    pub fn activation_state(&self) -> Result<ActivationState, StoreError> {
        Ok(self.activation_state.parse()?)
    }
}

/// A profile to insert.
#[derive(Debug, Clone, PartialEq, Insertable)]
#[diesel(table_name = profiles)]
pub struct NewProfile {
    /// ESN.
    pub esn: Option<String>,
    /// MEID.
    pub meid: Option<String>,
    /// Pseudo-ESN of the MEID.
    pub pesn: Option<String>,
    /// MIN.
    pub min: Option<String>,
    /// MDN.
    pub mdn: Option<String>,
    /// IMSI_M.
    pub imsi_m: Option<String>,
    /// IMSI_T.
    pub imsi_t: Option<String>,
    /// Make.
    pub make: String,
    /// Model.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Capabilities.
    pub capabilities: serde_json::Value,
    /// NAM settings.
    pub nam: serde_json::Value,
    /// PRL in use.
    pub prl_id: Option<i32>,
    /// SSPR table number.
    pub sspr_table_number: Option<i16>,
    /// Service programming code.
    pub spc: Option<String>,
    /// SPASM key, 16 upper-case hex digits.
    pub spasm_key: Option<String>,
    /// Activation state.
    pub activation_state: String,
}

/// An entry of the PRL library.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = prl_library, check_for_backend(diesel::pg::Pg))]
pub struct PrlEntry {
    /// Operator's handle.
    pub prl_id: i32,
    /// PR_LIST_ID.
    pub pr_list_id: i32,
    /// SSPR_P_REV of the format.
    pub sspr_p_rev: i16,
    /// PR_LIST_CRC.
    pub pr_list_crc: i32,
    /// PR_LIST_SIZE.
    pub pr_list_size: i32,
    /// Description.
    pub description: String,
    /// The PRL octets.
    pub data: Vec<u8>,
}

/// An OTA session row.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = ota_sessions, check_for_backend(diesel::pg::Pg))]
pub struct Session {
    /// Row id.
    pub id: i64,
    /// Unguessable token.
    pub token: String,
    /// Profile programmed.
    pub profile_id: i64,
    /// The call flow.
    pub flow: Flow,
    /// The bearer.
    pub bearer: Bearer,
    /// Active, completed or failed.
    pub status: SessionStatus,
    /// Final cause.
    pub cause: Option<String>,
    /// The session's state (JSON; typed by the session core).
    pub state: serde_json::Value,
    /// Optimistic-concurrency version.
    pub version: i64,
    /// When it times out.
    pub deadline: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
    /// The PRL campaign it belongs to.
    pub campaign_id: Option<i64>,
    /// When the plan started (none: waiting for the handset's call-back).
    pub started_at: Option<DateTime<Utc>>,
    /// Handed to the SS7 fallback.
    pub fallback: bool,
    /// The handset's identity (MEID or ESN) when the session opened.
    pub device: Option<String>,
}

/// An audit detail record to write.
#[derive(Debug, Clone, PartialEq, Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_records, check_for_backend(diesel::pg::Pg))]
pub struct AuditRecord {
    /// Session audited.
    pub session_id: Option<i64>,
    /// Profile concerned.
    pub profile_id: Option<i64>,
    /// The call flow.
    pub flow: Flow,
    /// The bearer.
    pub bearer: Bearer,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End.
    pub ended_at: DateTime<Utc>,
    /// IS-683 messages exchanged.
    pub messages_exchanged: i32,
    /// Outcome.
    pub outcome: String,
    /// Cause.
    pub cause: Option<String>,
    /// Extra detail.
    pub detail: serde_json::Value,
}

/// A profile as text for operators (`otagw profile show`). The SPC is not part of [`Profile`]
/// and so never shown.
pub fn render_profile(p: &Profile) -> String {
    use std::fmt::Write;
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_string());
    let mut out = String::new();
    let mut line = |k: &str, v: String| {
        let _ = writeln!(out, "{k:<20} {v}");
    };
    line("profile", p.id.to_string());
    line("activation state", p.activation_state.clone());
    line("ESN", opt(&p.esn));
    line("MEID", opt(&p.meid));
    line("pESN", opt(&p.pesn));
    line("MIN", opt(&p.min));
    line("MDN", opt(&p.mdn));
    line("IMSI_M", opt(&p.imsi_m));
    line("IMSI_T", opt(&p.imsi_t));
    line("make / model", format!("{} / {}", p.make, p.model));
    line("firmware", p.firmware_version.clone());
    line("capabilities", p.capabilities.to_string());
    line("NAM", p.nam.to_string());
    line(
        "PRL",
        p.prl_id.map_or_else(|| "-".to_string(), |v| v.to_string()),
    );
    line(
        "SSPR table",
        p.sspr_table_number
            .map_or_else(|| "-".to_string(), |v| v.to_string()),
    );
    line(
        "pending PRL",
        p.pending_prl_id
            .map_or_else(|| "-".to_string(), |v| v.to_string()),
    );
    line("new ESN", opt(&p.new_esn));
    line("activated ESN", opt(&p.activated_esn));
    line(
        "activated at",
        p.activated_at
            .map_or_else(|| "-".to_string(), |t| t.to_rfc3339()),
    );
    line("updated at", p.updated_at.to_rfc3339());
    out
}
