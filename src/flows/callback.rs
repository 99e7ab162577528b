//! What the WAP-push flows share: a session that waits for the handset to follow a call-back
//! URL, and the push that sends it there, queued in the outbox in the same transaction.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceIndication, ServiceLoading, SiAction, SlAction};

use crate::iota::session::{IotaState, BEARER};
use crate::ospp_driver::plan::{PlanState, Programme};
use crate::store::models::Session;
use crate::store::outbox::{self, NewOutbox};
use crate::store::sessions::{self, NewSession};
use crate::store::StoreError;

/// Which WAP push sends the handset to its call-back URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushKind {
    /// Service Loading, execute-high: the handset loads the URL without asking (OTAPA).
    ServiceLoading,
    /// Service Indication with this text: the user is asked (IVR-assisted activation).
    ServiceIndication(String),
}

/// A session to open that waits for a call-back.
#[derive(Debug, Clone)]
pub struct Callback<'a> {
    /// Flow name.
    pub flow: &'static str,
    /// The profile.
    pub profile_id: i64,
    /// Where the push goes.
    pub mdn: &'a str,
    /// The session token (in the URL).
    pub token: &'a str,
    /// The URL.
    pub callback_url: &'a str,
    /// Until when the handset may call back.
    pub deadline: DateTime<Utc>,
    /// The push.
    pub content: PushKind,
    /// The PRL campaign the session belongs to.
    pub campaign_id: Option<i64>,
}

/// The session opened and the outbox rows queued.
#[derive(Debug)]
pub struct Opened {
    /// The session row.
    pub session: Session,
    /// SMS segments queued.
    pub segments: usize,
}

/// The WAP push to `url`, as SMS segments.
pub fn push_segments(kind: &PushKind, url: &str, reference: u8) -> Result<Vec<Vec<u8>>, String> {
    let content = match kind {
        PushKind::ServiceLoading => PushContent::Sl(ServiceLoading {
            href: url.to_string(),
            action: SlAction::ExecuteHigh,
        }),
        PushKind::ServiceIndication(text) => PushContent::Si(ServiceIndication {
            href: Some(url.to_string()),
            action: SiAction::SignalHigh,
            text: Some(text.clone()),
            ..ServiceIndication::default()
        }),
    };
    let wsp = WapPush {
        tid: reference,
        content,
    }
    .encode()
    .map_err(|e| e.to_string())?;
    sms_segments(&wsp, ConcatReference::Eight(reference)).map_err(|e| e.to_string())
}

/// Opens the session (the plan not started: the call-back starts it) and queues the push. Call
/// inside the caller's transaction.
pub async fn open(
    conn: &mut AsyncPgConnection,
    callback: &Callback<'_>,
    programme: Programme,
) -> Result<Opened, StoreError> {
    sessions::supersede_active(conn, callback.profile_id).await?;
    let state = IotaState {
        plan: PlanState::new(programme),
        seq: 0,
        last_reply: String::new(),
        started_at: Utc::now(),
    };
    let session = sessions::create(
        conn,
        &NewSession {
            token: callback.token.to_string(),
            profile_id: callback.profile_id,
            flow: callback.flow.to_string(),
            bearer: BEARER.to_string(),
            state: serde_json::to_value(&state).map_err(|e| StoreError::InvalidValue {
                field: "state",
                reason: e.to_string(),
            })?,
            deadline: Some(callback.deadline),
            campaign_id: callback.campaign_id,
        },
    )
    .await?;
    let reference = (session.id & 0xFF) as u8;
    let segments =
        push_segments(&callback.content, callback.callback_url, reference).map_err(|reason| {
            StoreError::InvalidValue {
                field: "push",
                reason,
            }
        })?;
    let rows: Vec<NewOutbox> = segments
        .into_iter()
        .map(|s| NewOutbox {
            session_id: Some(session.id),
            campaign_id: callback.campaign_id,
            ..NewOutbox::wap_push(callback.mdn, s)
        })
        .collect();
    outbox::enqueue_all(conn, &rows).await?;
    Ok(Opened {
        session,
        segments: rows.len(),
    })
}
