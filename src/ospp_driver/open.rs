//! Opening a session: the row every bearer then steps with [`super::apply`].

use base64::Engine;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use super::plan::{PlanState, Programme};
use super::state::{Link, SessionState};
use crate::store::models::{Profile, Session};
use crate::store::sessions::{self, Flow, NewSession};
use crate::store::StoreError;

/// A session to open.
#[derive(Debug, Clone)]
pub(crate) struct Opening<'a> {
    /// Its token (in bearer URLs; the call reference on IOTA): [`new_token`].
    pub token: String,
    /// The subscriber's profile.
    pub profile: &'a Profile,
    /// The call flow.
    pub flow: Flow,
    /// What the plan writes.
    pub programme: Programme,
    /// The bearer's part of the state, as it starts.
    pub link: Link,
    /// Until when the first step may come.
    pub deadline: DateTime<Utc>,
    /// The PRL campaign it belongs to.
    pub campaign_id: Option<i64>,
}

/// Opens a session, its plan not started: the subscriber's other active sessions are
/// superseded (a handset starting over ends them) and the row is written. Runs in the caller's
/// transaction.
pub(crate) async fn open(
    conn: &mut AsyncPgConnection,
    opening: Opening<'_>,
) -> Result<Session, StoreError> {
    let profile = opening.profile;
    sessions::supersede_active(conn, profile.id).await?;
    let state = SessionState {
        plan: PlanState::new(opening.programme),
        link: opening.link,
    };
    sessions::create(
        conn,
        &NewSession {
            token: opening.token,
            profile_id: profile.id,
            flow: opening.flow,
            bearer: state.link.bearer(),
            state: state.to_json()?,
            deadline: Some(opening.deadline),
            campaign_id: opening.campaign_id,
            started_at: None,
            device: device_of(profile),
        },
    )
    .await
}

/// The identity a profile's handset goes by: its MEID, else its ESN, else its pseudo-ESN.
pub(crate) fn device_of(profile: &Profile) -> Option<String> {
    profile
        .meid
        .as_ref()
        .map(|m| format!("MEID {m}"))
        .or_else(|| profile.esn.as_ref().map(|e| format!("ESN {e}")))
        .or_else(|| profile.pesn.as_ref().map(|e| format!("pESN {e}")))
}

/// A new session token: 24 random octets from the kernel, URL-safe base64.
pub(crate) fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut buf)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}
