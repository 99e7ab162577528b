//! What the handler does with a valid OSPP request, by protocol_id, and the replies it sends.
//!
//! Each request runs in its own task ([`act`]); its replies go back as `deliver_sm` through the
//! handler's reply router.

use std::sync::Arc;

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use otagw_codecs::ospp::{Reply, Request, SessionType, Subscriber};
use rusmpp::pdus::DeliverSm;
use rusmpp::tlvs::MessageDeliveryRequestTlvValue;
use rusmpp::types::{AnyOctetString, COctetString, OctetString};
use rusmpp::values::{DataCoding, EsmClass, MessagePayload, Npi, RegisteredDelivery, Ton};

use super::Shared;
use crate::refusal::Refusal;
use crate::store::profiles::Lookup;
use crate::store::schema::ota_sessions;
use crate::store::sessions::SessionStatus;
use crate::store::StoreError;

/// Longest OSPP text sent as short_message; longer goes in message_payload.
const SHORT_MESSAGE_MAX: usize = 254;

/// Where a request's replies go: the bind it came on and the submit_sm's addresses (swapped).
#[derive(Debug, Clone)]
pub(super) struct ReplyTo {
    pub(super) conn_id: u64,
    pub(super) system_id: String,
    pub(super) protocol_id: u8,
    pub(super) source_ton: Ton,
    pub(super) source_npi: Npi,
    pub(super) source: String,
    pub(super) destination_ton: Ton,
    pub(super) destination_npi: Npi,
    pub(super) destination: String,
}

/// The metric label of a session type.
pub fn session_label(session_type: Option<SessionType>) -> &'static str {
    match session_type {
        Some(SessionType::OtaspSs7) => "otasp-ss7",
        Some(SessionType::IotaActivation) => "iota-activation",
        Some(SessionType::IotaPrlDownload) => "iota-prl-download",
        Some(SessionType::Status) => "status",
        None => "unknown",
    }
}

/// Counts a request in `otagw_ospp_requests_total`.
pub(super) fn count(session_type: &'static str, outcome: &'static str) {
    metrics::counter!(
        crate::telemetry::names::OSPP_REQUESTS,
        "session_type" => session_type,
        "outcome" => outcome
    )
    .increment(1);
}

/// The subscriber of an OSPP request as a profile lookup (a TRN names no profile).
pub fn lookup_of(subscriber: &Subscriber) -> Option<Lookup> {
    match subscriber {
        Subscriber::Mdn(m) => Some(Lookup::Mdn(m.clone())),
        Subscriber::Esn(e) => Some(Lookup::Esn(*e)),
        Subscriber::Meid(m) => Some(Lookup::Meid(*m)),
        Subscriber::Trn(_) => None,
    }
}

/// A cause as one OSPP word (causes from the store are one word already; this is a guard).
fn one_word(cause: &str) -> String {
    let w: String = cause
        .trim()
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '-' })
        .collect();
    if w.is_empty() {
        "unknown".to_string()
    } else {
        w
    }
}

fn rejected(tref: &str, cause: &str, detail: impl Into<String>) -> Reply {
    Reply::Rejected {
        tref: tref.to_string(),
        cause: one_word(cause),
        detail: detail.into(),
    }
}

/// The deliver_sm that carries `reply` back to the tool.
fn deliver_sm(to: &ReplyTo, reply: &Reply) -> Option<DeliverSm> {
    let text = match reply.encode() {
        Ok(t) => t,
        Err(err) => {
            tracing::warn!(%err, ?reply, "OSPP reply cannot be encoded; not sent");
            return None;
        }
    };
    let builder = DeliverSm::builder()
        .source_addr_ton(to.source_ton)
        .source_addr_npi(to.source_npi)
        .source_addr(
            COctetString::from_string(to.source.clone()).unwrap_or_else(|_| COctetString::empty()),
        )
        .dest_addr_ton(to.destination_ton)
        .dest_addr_npi(to.destination_npi)
        .destination_addr(
            COctetString::from_string(to.destination.clone())
                .unwrap_or_else(|_| COctetString::empty()),
        )
        .esm_class(EsmClass::from(0x00u8))
        .protocol_id(to.protocol_id)
        .registered_delivery(RegisteredDelivery::from(0u8))
        .data_coding(DataCoding::from(0x01u8));
    let short = (text.len() <= SHORT_MESSAGE_MAX)
        .then(|| OctetString::from_vec(text.clone()).ok())
        .flatten();
    Some(match short {
        Some(short) => builder.short_message(short).build(),
        None => builder
            .short_message(OctetString::empty())
            .push_tlv(MessageDeliveryRequestTlvValue::MessagePayload(
                MessagePayload::new(AnyOctetString::from_vec(text)),
            ))
            .build(),
    })
}

/// The handler's view of one request: where its replies go.
struct Replier<'a> {
    shared: &'a Shared,
    to: &'a ReplyTo,
}

impl Replier<'_> {
    async fn send(&self, reply: Reply) {
        let Some(pdu) = deliver_sm(self.to, &reply) else {
            return;
        };
        if !self
            .shared
            .deliver(self.to.conn_id, &self.to.system_id, pdu)
            .await
        {
            tracing::warn!(system_id = %self.to.system_id, ?reply, "OSPP reply dropped: no bind of the tool can receive it");
        }
    }
}

/// Acts on a valid request: starts what it asks for and sends its replies.
pub(super) async fn act(shared: Arc<Shared>, to: ReplyTo, request: Request) {
    let session_type = SessionType::from_protocol_id(to.protocol_id);
    let label = session_label(session_type);
    let replier = Replier {
        shared: &shared,
        to: &to,
    };
    let outcome = match (session_type, request) {
        (
            Some(SessionType::OtaspSs7),
            Request::StartActivation {
                tref,
                subscriber: Subscriber::Trn(trn),
            },
        ) => star_code(&replier, tref, trn).await,
        (Some(SessionType::IotaActivation), Request::StartActivation { tref, subscriber }) => {
            iota_activation(&replier, tref, subscriber).await
        }
        (
            Some(SessionType::IotaPrlDownload),
            Request::StartPrlDownload {
                tref,
                prl,
                subscriber,
            },
        ) => prl_push(&replier, tref, prl, subscriber).await,
        (Some(SessionType::Status), Request::Status { tref, reference }) => {
            status(&replier, tref, reference).await
        }
        // The codec only decodes requests that fit their protocol_id; this is a guard.
        (_, request) => {
            let tref = match &request {
                Request::StartActivation { tref, .. }
                | Request::StartPrlDownload { tref, .. }
                | Request::Status { tref, .. } => tref.clone(),
            };
            replier
                .send(rejected(
                    &tref,
                    "bad-request",
                    format!(
                        "this request is not valid with protocol_id {:#04x}",
                        to.protocol_id
                    ),
                ))
                .await;
            "rejected"
        }
    };
    count(label, outcome);
}

/// PID 0x7A: a star-code activation over SS7, run to its end, then one RESULT (or REJECTED
/// when no session was opened). There is no ACCEPTED: the session id is only known at the end.
async fn star_code(replier: &Replier<'_>, tref: String, trn: String) -> &'static str {
    match replier.shared.driver.star_code(trn).await {
        Ok(report) => {
            let success = report.outcome == "success";
            let reply = match report.session_id {
                Some(id) => Reply::Result {
                    tref,
                    reference: id.to_string(),
                    success,
                    cause: report.cause.as_deref().map(one_word),
                    detail: Some(report.detail).filter(|d| !d.is_empty()),
                },
                None => rejected(
                    &tref,
                    report.cause.as_deref().unwrap_or("internal-error"),
                    report.detail,
                ),
            };
            let outcome = match &reply {
                Reply::Result { success: true, .. } => "success",
                Reply::Result { .. } => "failure",
                _ => "rejected",
            };
            replier.send(reply).await;
            outcome
        }
        Err(err) => {
            replier
                .send(rejected(&tref, err.code(), err.to_string()))
                .await;
            "rejected"
        }
    }
}

/// PID 0x7B: IVR-assisted IOTA activation of the handset on the call `trn`: ACCEPTED with the
/// session id once the WAP push is queued, then RESULT when the handset's IOTA session ends.
async fn iota_activation(
    replier: &Replier<'_>,
    tref: String,
    subscriber: Subscriber,
) -> &'static str {
    let Subscriber::Trn(trn) = subscriber else {
        replier
            .send(rejected(
                &tref,
                "bad-request",
                "an IVR-assisted activation names the call by trn",
            ))
            .await;
        return "rejected";
    };
    let started = match replier.shared.driver.ivr_star_code(trn).await {
        Ok(started) => started,
        Err(err) => {
            replier
                .send(rejected(&tref, err.code(), err.to_string()))
                .await;
            return "rejected";
        }
    };
    accepted_then_result(replier, tref, started.session_id).await
}

/// ACCEPTED with `session_id`, then RESULT when the session ends (or "pending" if the watch
/// ends first).
async fn accepted_then_result(
    replier: &Replier<'_>,
    tref: String,
    session_id: i64,
) -> &'static str {
    let reference = session_id.to_string();
    replier
        .send(Reply::Accepted {
            tref: tref.clone(),
            reference: reference.clone(),
        })
        .await;
    match watch_session(replier.shared, session_id).await {
        Some(End { success, cause }) => {
            replier
                .send(Reply::Result {
                    tref,
                    reference,
                    success,
                    cause,
                    detail: None,
                })
                .await;
            if success {
                "success"
            } else {
                "failure"
            }
        }
        None => {
            tracing::info!(
                session = session_id,
                "OSPP: stopped watching a session still active; the tool can ask with STATUS"
            );
            "pending"
        }
    }
}

/// PID 0x7C: a PRL push; ACCEPTED with the session id, then RESULT when the session ends.
async fn prl_push(
    replier: &Replier<'_>,
    tref: String,
    prl: u32,
    subscriber: Subscriber,
) -> &'static str {
    let Ok(prl_id) = i32::try_from(prl) else {
        replier
            .send(rejected(
                &tref,
                "unknown-prl",
                format!("PRL {prl} is not in the PRL library"),
            ))
            .await;
        return "rejected";
    };
    let Some(lookup) = lookup_of(&subscriber) else {
        replier
            .send(rejected(
                &tref,
                "bad-request",
                "a PRL download names the handset by mdn, esn or meid",
            ))
            .await;
        return "rejected";
    };
    let started = match replier.shared.driver.prl_push(prl_id, lookup).await {
        Ok(started) => started,
        Err(err) => {
            replier
                .send(rejected(&tref, err.code(), err.to_string()))
                .await;
            return "rejected";
        }
    };
    accepted_then_result(replier, tref, started.session_id).await
}

/// PID 0x7D: how a session is going.
async fn status(replier: &Replier<'_>, tref: String, reference: String) -> &'static str {
    let unknown = |tref: &str, reference: &str| {
        rejected(
            tref,
            "unknown-ref",
            format!("no session {reference} at this gateway"),
        )
    };
    let Ok(id) = reference.parse::<i64>() else {
        replier.send(unknown(&tref, &reference)).await;
        return "rejected";
    };
    match session_state(replier.shared, id).await {
        Ok(Some(State::Active)) => {
            replier.send(Reply::Accepted { tref, reference }).await;
            "answered"
        }
        Ok(Some(State::Ended(End { success, cause }))) => {
            replier
                .send(Reply::Result {
                    tref,
                    reference,
                    success,
                    cause,
                    detail: None,
                })
                .await;
            "answered"
        }
        Ok(None) => {
            replier.send(unknown(&tref, &reference)).await;
            "rejected"
        }
        Err(err) => {
            tracing::warn!(%err, session = id, "OSPP STATUS: reading the session failed");
            replier
                .send(rejected(&tref, "internal-error", err.to_string()))
                .await;
            "rejected"
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
struct End {
    success: bool,
    cause: Option<String>,
}

/// Where a session is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Active,
    Ended(End),
}

/// Reads session `id`'s status and cause; None when there is no such session.
async fn session_state(shared: &Shared, id: i64) -> Result<Option<State>, StoreError> {
    let mut conn = shared.store.conn().await?;
    let row: Option<(SessionStatus, Option<String>)> = ota_sessions::table
        .find(id)
        .select((ota_sessions::status, ota_sessions::cause))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(row.map(|(status, cause)| {
        if status == SessionStatus::Active {
            State::Active
        } else {
            State::Ended(End {
                success: status == SessionStatus::Completed,
                cause: cause.as_deref().map(one_word),
            })
        }
    }))
}

/// Reads the session row every `poll_interval` until it is no longer active; None when the
/// watch limit passes, the handler stops, or the row is gone.
async fn watch_session(shared: &Shared, id: i64) -> Option<End> {
    let give_up = tokio::time::Instant::now() + shared.config.result_watch;
    let mut stop = shared.stop.clone();
    loop {
        match session_state(shared, id).await {
            Ok(Some(State::Ended(end))) => return Some(end),
            Ok(Some(State::Active)) => {}
            Ok(None) => return None,
            Err(err) => {
                tracing::debug!(%err, session = id, "OSPP: reading a watched session failed")
            }
        }
        if tokio::time::Instant::now() >= give_up || *stop.borrow() {
            return None;
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.config.poll_interval) => {}
            _ = stop.changed() => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn to() -> ReplyTo {
        ReplyTo {
            conn_id: 1,
            system_id: "ivr".into(),
            protocol_id: 0x7C,
            source_ton: Ton::Unknown,
            source_npi: Npi::Unknown,
            source: "OTAF".into(),
            destination_ton: Ton::International,
            destination_npi: Npi::Isdn,
            destination: "5550000".into(),
        }
    }

    #[test]
    fn replies_are_deliver_sm_with_the_request_pid() {
        let reply = Reply::Accepted {
            tref: "7".into(),
            reference: "42".into(),
        };
        let sm = deliver_sm(&to(), &reply).unwrap();
        assert_eq!(sm.protocol_id, 0x7C);
        assert_eq!(u8::from(sm.esm_class), 0x00);
        assert_eq!(u8::from(sm.data_coding), 0x01);
        assert_eq!(sm.source_addr.as_str(), "OTAF");
        assert_eq!(sm.destination_addr.as_str(), "5550000");
        assert_eq!(
            sm.short_message().as_ref(),
            b"OSPP/1 ACCEPTED tref=7 ref=42"
        );
    }

    #[test]
    fn long_replies_go_in_message_payload() {
        let reply = rejected("7", "internal-error", "x".repeat(400));
        let sm = deliver_sm(&to(), &reply).unwrap();
        assert!(sm.short_message().as_ref().is_empty());
        let payload = sm
            .tlvs()
            .iter()
            .find_map(|t| match t.value() {
                Some(rusmpp::tlvs::TlvValue::MessagePayload(p)) => Some(p.value.as_ref().to_vec()),
                _ => None,
            })
            .unwrap();
        assert_eq!(Reply::decode(&payload).unwrap(), reply);
    }

    #[test]
    fn causes_are_one_word() {
        assert_eq!(one_word("timeout"), "timeout");
        assert_eq!(one_word("no answer"), "no-answer");
        assert_eq!(one_word(" "), "unknown");
    }

    #[test]
    fn subscribers_map_to_lookups() {
        let esn = "1A2B3C4D".parse().unwrap();
        assert_eq!(lookup_of(&Subscriber::Esn(esn)), Some(Lookup::Esn(esn)));
        assert_eq!(lookup_of(&Subscriber::Trn("555".into())), None);
    }
}
