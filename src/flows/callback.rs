//! What the WAP-push flows share: a session that waits for the handset to follow a call-back
//! URL, and the push that sends it there, queued in the outbox in the same transaction: as SMS
//! segments for the SMSC, or as IS-637 teleservice 4100 messages for the serving MSC over SS7.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use otagw_codecs::is637;
use otagw_codecs::wap::push::{sms_segments, ConcatReference, PushContent, WapPush};
use otagw_codecs::wap::wbxml::{ServiceIndication, ServiceLoading, SiAction, SlAction};

use crate::ospp_driver::open::{self, Opening};
use crate::ospp_driver::plan::Programme;
use crate::ospp_driver::state::{IotaLink, Link};
use crate::store::models::{Profile, Session};
use crate::store::outbox::{self, NewOutbox};
use crate::store::sessions::Flow;
use crate::store::StoreError;

/// Which WAP push sends the handset to its call-back URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PushKind {
    /// Service Loading, execute-high: the handset loads the URL without asking (OTAPA).
    ServiceLoading,
    /// Service Indication with this text: the user is asked (IVR-assisted activation).
    ServiceIndication(String),
}

/// Where a push goes, and so which bearer carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushDestination<'a> {
    /// Through the SMSC (SMPP), to this MDN.
    Smsc(&'a str),
    /// Straight to the serving MSC over SS7 (SMSRequest, then SMDPP), to the handset with this
    /// MIN.
    Ss7(&'a str),
}

/// Octets of WDP user data per teleservice 4100 message on the SS7 bearer: small enough that
/// the SMDPP carrying it (with MIN and ESN) fits one SCCP UDT.
pub(crate) const SS7_PUSH_USER_DATA: usize = 160;

/// A session to open that waits for a call-back.
#[derive(Debug, Clone)]
pub(crate) struct Callback<'a> {
    /// The call flow.
    pub flow: Flow,
    /// The subscriber's profile.
    pub profile: &'a Profile,
    /// Where the push goes.
    pub to: PushDestination<'a>,
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
pub(crate) struct Opened {
    /// The session row.
    pub session: Session,
    /// Outbox rows (SMS segments or SMDPP messages) queued.
    pub segments: usize,
}

/// The WAP push to `url` (a WSP push PDU with transaction id `tid`).
fn wsp_push(kind: &PushKind, url: &str, tid: u8) -> Result<Vec<u8>, String> {
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
    WapPush { tid, content }.encode().map_err(|e| e.to_string())
}

/// The WAP push to `url` as outbox rows for `to`: SMS segments (UDH, concatenation reference
/// `reference`) for the SMSC, or teleservice 4100 bearer data (MESSAGE_ID `reference`) for
/// the MSC.
pub(crate) fn push_rows(
    kind: &PushKind,
    url: &str,
    to: PushDestination<'_>,
    reference: u16,
) -> Result<Vec<NewOutbox>, String> {
    let wsp = wsp_push(kind, url, reference.to_be_bytes()[1])?;
    match to {
        PushDestination::Smsc(mdn) => {
            sms_segments(&wsp, ConcatReference::Eight(reference.to_be_bytes()[1]))
                .map_err(|e| e.to_string())
                .map(|segments| {
                    segments
                        .into_iter()
                        .map(|s| NewOutbox::wap_push(mdn, s))
                        .collect()
                })
        }
        PushDestination::Ss7(min) => is637::wap_bearer_data(&wsp, reference, SS7_PUSH_USER_DATA)
            .map_err(|e| e.to_string())
            .map(|messages| {
                messages
                    .into_iter()
                    .map(|m| NewOutbox::wap_push_ss7(min, m))
                    .collect()
            }),
    }
}

/// Opens the session (the plan not started: the call-back starts it) and queues the push. Call
/// inside the caller's transaction.
pub(crate) async fn open(
    conn: &mut AsyncPgConnection,
    callback: &Callback<'_>,
    programme: Programme,
) -> Result<Opened, StoreError> {
    let session = open::open(
        conn,
        Opening {
            token: callback.token.to_string(),
            profile: callback.profile,
            flow: callback.flow,
            programme,
            link: Link::Iota(IotaLink::default()),
            deadline: callback.deadline,
            campaign_id: callback.campaign_id,
        },
    )
    .await?;
    let reference = (session.id & 0xFFFF) as u16;
    let rows: Vec<NewOutbox> = push_rows(
        &callback.content,
        callback.callback_url,
        callback.to,
        reference,
    )
    .map_err(|reason| StoreError::InvalidValue {
        field: "push",
        reason,
    })?
    .into_iter()
    .map(|row| NewOutbox {
        session_id: Some(session.id),
        campaign_id: callback.campaign_id,
        ..row
    })
    .collect();
    outbox::enqueue_all(conn, &rows).await?;
    Ok(Opened {
        session,
        segments: rows.len(),
    })
}
