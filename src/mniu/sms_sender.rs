//! The SS7 sender: outbox rows with bearer `ss7` go straight to the serving MSC, no SMSC.
//!
//! ```text
//!   store::outbox --claim_due(ss7)--> rows grouped by destination (a MIN)
//!       per group: SMSRequest (MIN) to the HLR -> SMS_Address -> the configured MSC
//!                  then per row: SMDPP (MSID = MIN, SMS_TeleserviceIdentifier 4100,
//!                  SMS_BearerData = the row's IS-637 bearer data) -> ReturnResult
//! ```
//!
//! The MSC's ReturnResult is the delivery: the row goes from `submitting` to `delivered` with
//! the reference `ss7-{row id}` as its message_id (there is no SMSC message id and no receipt).
//!
//! | outcome | outbox |
//! |---|---|
//! | ReturnResult | `mark_delivered` |
//! | no association, invoke timer ran out | `reschedule` after `retry_backoff`, counted; failed at `max_attempts` |
//! | ReturnError (unknown MIN/ESN, ...), Reject, Abort, an answer that names no configured MSC | `mark_failed` with the cause |
//! | a destination that is not a MIN | `mark_failed` |
//!
//! Rows are claimed with `FOR UPDATE SKIP LOCKED` under a lease, as the SMPP sender does, so
//! gateways sharing a database never send one row at the same time, and a gateway that dies
//! leaves its rows to be claimed again when the lease ends. Nothing is claimed while no M3UA
//! association is active, so a signalling outage does not use up the rows' attempts. Metrics:
//! `otagw_ss7_sms_total{result}` (`delivered`, `retry`, `failed`) and
//! `otagw_ss7_outbox_depth{state}`.

use std::collections::BTreeMap;
use std::time::Duration;

use otagw_codecs::identity::Min;
use otagw_codecs::is637::TELESERVICE_WAP;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::supervisor::{Stage, Task};

use super::asp::Linkset;
use super::is725::{Is725, Is725Error};
use super::tcap::TcapError;
use crate::store::outbox::{self, OutboxBearer, OutboxRow, Rescheduled};
use crate::store::{Store, StoreError};

/// Settings of the SS7 sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsSenderSettings {
    /// Most destinations served at once.
    pub window: usize,
    /// How often the outbox is polled for due rows.
    pub poll_interval: Duration,
    /// How long a claim lasts. A row is sent only while its claim has at least two invoke
    /// timers left, so a slow network leaves rows for later instead of sending them twice.
    pub lease: Duration,
    /// Attempts per row before it fails.
    pub max_attempts: i32,
    /// Delay before a row is tried again after a transient failure.
    pub retry_backoff: Duration,
}

impl Default for SmsSenderSettings {
    /// 32 destinations, polled every 200 ms, 60 s leases, 5 attempts 5 s apart.
    fn default() -> Self {
        Self {
            window: 32,
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            max_attempts: 5,
            retry_backoff: Duration::from_secs(5),
        }
    }
}

/// The SS7 sender. Run it with [`SmsSender::run`], or under the supervisor as
/// [`SmsSender::task`].
#[derive(Debug, Clone)]
pub struct SmsSender {
    store: Store,
    is725: Is725,
    linkset: Linkset,
    settings: SmsSenderSettings,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sent {
    Delivered,
    Retry(String),
    Failed(String),
}

/// How an IS-725-A failure counts for a row.
fn classify(error: &Is725Error) -> Sent {
    match error {
        Is725Error::Tcap(TcapError::Timeout(_) | TcapError::Link(_) | TcapError::Stopped) => {
            Sent::Retry(error.to_string())
        }
        _ => Sent::Failed(error.to_string()),
    }
}

impl SmsSender {
    /// A sender of `store`'s `ss7` rows over `is725`, claiming while `linkset` is active.
    pub fn new(store: Store, is725: Is725, linkset: Linkset, settings: SmsSenderSettings) -> Self {
        Self {
            store,
            is725,
            linkset,
            settings,
        }
    }

    /// The sender as a supervised task of the work stage.
    pub fn task(self) -> Task {
        Task::new("ss7-sms-sender", Stage::Work, move |stop| {
            self.clone().run(stop)
        })
    }

    /// Claims and sends due rows until `stop` turns true; then waits for the groups in flight.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut poll =
            tokio::time::interval(self.settings.poll_interval.max(Duration::from_millis(10)));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut groups = JoinSet::new();
        let mut last_depth: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                Some(_) = groups.join_next(), if !groups.is_empty() => {}
                _ = poll.tick() => {
                    if last_depth.is_none_or(|t| t.elapsed() >= Duration::from_secs(2)) {
                        last_depth = Some(tokio::time::Instant::now());
                        self.depth_gauges().await;
                    }
                    let room = self.settings.window.max(1).saturating_sub(groups.len());
                    if room == 0 || !self.linkset.is_active() {
                        continue;
                    }
                    let claimed_at = tokio::time::Instant::now();
                    match self.claim(room).await {
                        Ok(claimed) => {
                            for rows in claimed.into_values() {
                                let sender = self.clone();
                                groups.spawn(async move { sender.send_group(rows, claimed_at).await });
                            }
                        }
                        Err(err) => tracing::warn!(%err, "SS7 sender: claiming outbox rows"),
                    }
                }
            }
        }
        while groups.join_next().await.is_some() {}
    }

    /// Exports the `ss7` rows by state.
    async fn depth_gauges(&self) {
        let depth = async {
            let mut conn = self.store.conn().await?;
            outbox::depth_of(&mut conn, OutboxBearer::Ss7).await
        }
        .await;
        if let Ok(depth) = depth {
            for st in outbox::OutboxState::ALL {
                metrics::gauge!(crate::telemetry::names::SS7_OUTBOX_DEPTH, "state" => st.as_str())
                    .set(depth.get(st) as f64);
            }
        }
    }

    /// Claims up to `room` rows, grouped by destination, each group in row order.
    async fn claim(&self, room: usize) -> Result<BTreeMap<String, Vec<OutboxRow>>, StoreError> {
        let mut conn = self.store.conn().await?;
        let rows = outbox::claim_due(
            &mut conn,
            OutboxBearer::Ss7,
            i64::try_from(room).unwrap_or(i64::MAX),
            self.settings.lease,
            self.settings.max_attempts,
        )
        .await?;
        let mut groups: BTreeMap<String, Vec<OutboxRow>> = BTreeMap::new();
        for row in rows {
            groups.entry(row.destination.clone()).or_default().push(row);
        }
        for rows in groups.values_mut() {
            rows.sort_by_key(|r| r.id);
        }
        Ok(groups)
    }

    /// Locates the destination once, then sends its rows one after the other, recording each
    /// outcome as it comes. A row is sent only while its claim has two invoke timers left; the
    /// rest are left to their leases (claimed again later) rather than sent twice.
    async fn send_group(&self, rows: Vec<OutboxRow>, claimed_at: tokio::time::Instant) {
        let Some(first) = rows.first() else { return };
        let min = match first.destination.parse::<Min>() {
            Ok(min) => min,
            Err(e) => {
                let cause = format!("destination is not a MIN for SS7: {e}");
                for r in &rows {
                    self.record(r.id, &Sent::Failed(cause.clone())).await;
                }
                return;
            }
        };
        let attached = match self.is725.locate_msc(&min, None, None).await {
            Ok(attached) => attached,
            Err(e) => {
                let sent = classify(&e);
                for r in &rows {
                    self.record(r.id, &sent).await;
                }
                return;
            }
        };
        let send_by = claimed_at + self.settings.lease.saturating_sub(2 * self.is725.timer());
        for row in &rows {
            if tokio::time::Instant::now() >= send_by {
                tracing::warn!(
                    row = row.id,
                    "SS7 sender: the claim ran short; the row waits for its lease"
                );
                break;
            }
            let sent = match self
                .is725
                .deliver_sms(&attached, TELESERVICE_WAP, row.payload.clone())
                .await
            {
                Ok(()) => Sent::Delivered,
                Err(e) => classify(&e),
            };
            self.record(row.id, &sent).await;
        }
    }

    /// Records one row's outcome; a database failure is logged and the row's lease runs out
    /// (it is claimed again).
    async fn record(&self, id: i64, sent: &Sent) {
        if let Err(err) = self.try_record(id, sent).await {
            tracing::warn!(%err, row = id, "SS7 sender: recording an outcome");
        }
    }

    async fn try_record(&self, id: i64, sent: &Sent) -> Result<(), StoreError> {
        let mut conn = self.store.conn().await?;
        let result = match sent {
            Sent::Delivered => {
                outbox::mark_delivered(&mut conn, id, &format!("ss7-{id}")).await?;
                "delivered"
            }
            Sent::Failed(cause) => {
                tracing::warn!(row = id, %cause, "SS7 push failed");
                outbox::mark_failed(&mut conn, id, cause).await?;
                "failed"
            }
            Sent::Retry(cause) => match outbox::reschedule(
                &mut conn,
                id,
                self.settings.retry_backoff,
                self.settings.max_attempts,
                cause,
                true,
            )
            .await?
            {
                Rescheduled::Failed(cause) => {
                    tracing::warn!(row = id, %cause, "SS7 push failed");
                    "failed"
                }
                Rescheduled::Retry(_) | Rescheduled::NotClaimed => "retry",
            },
        };
        metrics::counter!(crate::telemetry::names::SS7_SMS, "result" => result).increment(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;
    use crate::mniu::tcap::Endpoint;

    #[test]
    fn link_trouble_is_retried_and_network_refusals_are_final() {
        let peer = Endpoint {
            point_code: 0x01_01_02,
            ssn: 8,
        };
        assert!(matches!(
            classify(&Is725Error::Tcap(TcapError::Timeout(peer))),
            Sent::Retry(_)
        ));
        assert!(matches!(
            classify(&Is725Error::Tcap(TcapError::Stopped)),
            Sent::Retry(_)
        ));
        assert!(matches!(
            classify(&Is725Error::ReturnError {
                operation: "SMSRequest",
                peer,
                error: "UnrecognizedMIN".into()
            }),
            Sent::Failed(c) if c.contains("UnrecognizedMIN")
        ));
        assert!(matches!(
            classify(&Is725Error::Aborted {
                operation: "SMSDeliveryPointToPoint",
                peer,
                cause: None,
            }),
            Sent::Failed(_)
        ));
    }

    #[test]
    fn a_full_push_segment_fits_one_udt() {
        use crate::flows::callback::SS7_PUSH_USER_DATA;
        use otagw_codecs::ansi41::{self, Msid, SmdppInvoke};
        use otagw_codecs::identity::Esn;
        use otagw_codecs::tcap::{Package, TcapMessage};
        let wsp = vec![0xA5; 3 * SS7_PUSH_USER_DATA];
        let messages = otagw_codecs::is637::wap_bearer_data(&wsp, 0xFFFF, SS7_PUSH_USER_DATA)
            .expect("segments");
        assert!(messages.len() >= 3);
        for bearer_data in messages {
            assert!(bearer_data.len() <= 255, "fits an outbox row");
            let mut invoke = SmdppInvoke::new(bearer_data, TELESERVICE_WAP);
            invoke.msid = Some(Msid::Min("6195550199".parse().expect("MIN")));
            invoke.esn = Some(Esn::new(0xFFFF_FFFF));
            let message = TcapMessage {
                package: Package::Query {
                    with_permission: true,
                    otid: [0xFF; 4],
                },
                components: vec![ansi41::invoke(&invoke, 1).expect("invoke")],
                dialogue: None,
            };
            let octets = message.encode().expect("encodes");
            assert!(
                octets.len() <= otagw_codecs::sccp::MAX_UDT_DATA,
                "{} octets of TCAP",
                octets.len()
            );
        }
    }
}
