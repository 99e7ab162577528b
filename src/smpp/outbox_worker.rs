//! The outbox worker: claims due outbox rows, hands them to the ESME binds, records what the
//! SMSC answered and applies delivery receipts.
//!
//! It claims only while at least one bind is up and only as many rows as the shared job queue
//! has room for, so claimed rows do not wait long; a job whose claim has expired before a bind
//! takes it is not sent ([`EsmeEvent::LeaseLost`]) and the row is claimed again. Outcomes:
//!
//! | event | outbox |
//! |---|---|
//! | `Submitted` | `mark_submitted` (message_id) |
//! | `SlowDown` (throttled, queue full) | `reschedule` after `retry_backoff`, attempt refunded |
//! | `Transient`, `Unknown` (bind lost, timeout) | `reschedule` after `retry_backoff`, counted; failed at `max_attempts` |
//! | `Permanent` | `mark_failed` with the status as cause |
//! | `Receipt` DELIVRD | `apply_receipt`: `mark_delivered_by_message_id` |
//! | `Receipt` UNDELIV, EXPIRED, DELETED, REJECTD | `apply_receipt`: `mark_failed_by_message_id` |
//!
//! A receipt for a message_id no row has yet (its `Submitted` came on another bind, or to
//! another gateway's worker, and is not recorded yet) is held and retried for
//! [`RECEIPT_HOLD`]; its `deliver_sm_resp` waits until it is recorded (a row that is only
//! `submitted` is not taken for a repeat, see [`outbox::apply_receipt`]), so a gateway that
//! dies meanwhile leaves the SMSC to send it again. At most [`MAX_HELD_RECEIPTS`] are held (an
//! SMSC may send receipts for messages another application submitted under the same
//! system_id): one more is answered and dropped at once, so withheld `deliver_sm_resp`s cannot
//! fill the SMSC's window on the bind. Every dropped receipt is logged and counted
//! (`otagw_smpp_receipts_dropped_total{reason}`: `unknown-message-id` after the hold,
//! `hold-full`). Database
//! errors are retried a few times; a receipt that still cannot be recorded is refused
//! (ESME_RX_T_APPN) so the SMSC sends it again.
//!
//! Metrics: `otagw_smpp_outbox_depth{state}`, `otagw_smpp_receipts_dropped_total{reason}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::esme::{Esme, EsmeEvent, SubmitJob};
use super::receipt::{Receipt, ReceiptState};
use super::SmppConfig;
use crate::store::outbox::{
    self, OutboxBearer, OutboxRow, OutboxState, ReceiptApplied, ReceiptOutcome, Rescheduled,
};
use crate::store::{Store, StoreError};
use crate::supervisor::{Stage, Task};
use crate::telemetry::names;

/// How long a receipt for an unknown message_id is held before it is dropped.
pub const RECEIPT_HOLD: Duration = Duration::from_secs(30);

/// Receipts held at most at once (beyond, one more for an unknown message_id is dropped).
pub const MAX_HELD_RECEIPTS: usize = 1000;

/// Answers a receipt that will not be recorded, and says so in the log and the metrics.
fn drop_receipt(receipt: &Receipt, ack: oneshot::Sender<bool>, reason: &'static str) {
    tracing::warn!(
        message_id = receipt.message_id,
        reason,
        "receipt for an unknown message_id dropped"
    );
    metrics::counter!(names::SMPP_RECEIPTS_DROPPED, "reason" => reason).increment(1);
    let _ = ack.send(true);
}

struct HeldReceipt {
    receipt: Receipt,
    since: Instant,
    ack: oneshot::Sender<bool>,
}

/// The worker. Build it with [`OutboxWorker::new`], run it with [`OutboxWorker::run`] or
/// under the supervisor as [`OutboxWorker::task`].
#[derive(Debug, Clone)]
pub struct OutboxWorker {
    store: Store,
    settings: SmppConfig,
    binds: Vec<Esme>,
}

impl OutboxWorker {
    /// A worker on `store`. With no binds given (see [`OutboxWorker::with_binds`]) it claims
    /// whenever the job queue has room.
    pub fn new(store: Store, settings: SmppConfig) -> Self {
        Self {
            store,
            settings,
            binds: Vec::new(),
        }
    }

    /// Claims only while one of `binds` is up.
    pub fn with_binds(mut self, binds: Vec<Esme>) -> Self {
        self.binds = binds;
        self
    }

    /// The worker as a supervised task. It stops with the binds (the links stage): the
    /// outcomes of the requests in their windows are recorded until they unbind.
    pub fn task(self, jobs: mpsc::Sender<SubmitJob>, events: mpsc::Receiver<EsmeEvent>) -> Task {
        let events = Arc::new(tokio::sync::Mutex::new(events));
        Task::new("smpp outbox worker", Stage::Links, move |stop| {
            let (worker, jobs, events) = (self.clone(), jobs.clone(), events.clone());
            async move {
                let mut events = events.lock().await;
                worker.run(jobs, &mut events, stop).await;
            }
        })
    }

    /// Runs until `stop` turns true or the binds are all gone.
    pub async fn run(
        self,
        jobs: mpsc::Sender<SubmitJob>,
        events: &mut mpsc::Receiver<EsmeEvent>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut poll =
            tokio::time::interval(self.settings.poll_interval.max(Duration::from_millis(10)));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held: Vec<HeldReceipt> = Vec::new();
        let mut last_depth: Option<Instant> = None;
        // Whether the last claim filled the queue: more rows may be due, so claim again as
        // soon as a bind frees room instead of waiting for the next tick.
        let mut more_due = false;
        loop {
            tokio::select! {
                changed = stop.changed() => {
                    if changed.is_err() || *stop.borrow() {
                        break;
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else { break };
                    self.on_event(event, &mut held).await;
                    if more_due {
                        more_due = self.claim(&jobs).await;
                    }
                }
                _ = poll.tick() => {
                    more_due = self.claim(&jobs).await;
                    self.retry_held(&mut held).await;
                    if last_depth.is_none_or(|t| t.elapsed() >= Duration::from_secs(2)) {
                        last_depth = Some(Instant::now());
                        self.depth_gauges().await;
                    }
                }
            }
        }
        // Rows still claimed are left to their leases; held receipts are refused so the SMSC
        // sends them again.
        for h in held {
            let _ = h.ack.send(false);
        }
    }

    fn any_bind_up(&self) -> bool {
        self.binds.is_empty() || self.binds.iter().any(Esme::is_bound)
    }

    /// Claims as many due rows as the job queue has room for; true when it filled the room
    /// (more may be due) or had none.
    async fn claim(&self, jobs: &mpsc::Sender<SubmitJob>) -> bool {
        let room = jobs.capacity();
        if room == 0 {
            return true;
        }
        if !self.any_bind_up() {
            return false;
        }
        let s = &self.settings;
        let rows = retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::claim_due(
                &mut conn,
                OutboxBearer::Smsc,
                room as i64,
                s.lease,
                s.max_attempts,
            )
            .await
        })
        .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "outbox claim failed");
                return false;
            }
        };
        let filled = rows.len() >= room;
        for row in rows {
            let job = job_for(&row);
            if let Err(e) = jobs.try_send(job) {
                // Only this worker sends on the queue and it had room: the binds are gone.
                // The row's lease expires and it is claimed again.
                tracing::warn!(id = row.id, error = %e, "cannot queue a claimed row");
            }
        }
        filled
    }

    async fn on_event(&self, event: EsmeEvent, held: &mut Vec<HeldReceipt>) {
        let s = &self.settings;
        let result = match event {
            EsmeEvent::Submitted { id, message_id } => {
                let r = retry(|| async {
                    let mut conn = self.store.conn().await?;
                    outbox::mark_submitted(&mut conn, id, &message_id).await
                })
                .await;
                if let Ok(false) = r {
                    tracing::warn!(id, message_id, "submit_sm_resp for a row no longer claimed");
                }
                r.map(|_| ())
            }
            EsmeEvent::SlowDown { id, status } => {
                self.reschedule(id, &super::status::name(status), false)
                    .await
            }
            EsmeEvent::Transient { id, cause } | EsmeEvent::Unknown { id, cause } => {
                self.reschedule(id, &cause, true).await
            }
            EsmeEvent::Permanent { id, cause } => {
                tracing::info!(id, cause, "outbox message failed");
                retry(|| async {
                    let mut conn = self.store.conn().await?;
                    outbox::mark_failed(&mut conn, id, &cause).await
                })
                .await
                .map(|_| ())
            }
            EsmeEvent::LeaseLost { id } => {
                tracing::debug!(id, "claim expired before a bind took the job");
                Ok(())
            }
            EsmeEvent::Receipt { receipt, ack } => {
                match self.apply_receipt(&receipt).await {
                    Ok(true) => {
                        let _ = ack.send(true);
                    }
                    Ok(false) if held.len() >= MAX_HELD_RECEIPTS => {
                        drop_receipt(&receipt, ack, "hold-full");
                    }
                    Ok(false) => held.push(HeldReceipt {
                        receipt,
                        since: Instant::now(),
                        ack,
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, message_id = receipt.message_id, "cannot record a receipt");
                        let _ = ack.send(false);
                    }
                }
                Ok(())
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, max_attempts = s.max_attempts, "outbox update failed; the row's lease will expire");
        }
    }

    async fn reschedule(&self, id: i64, cause: &str, counted: bool) -> Result<(), StoreError> {
        let s = &self.settings;
        let r = retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::reschedule(
                &mut conn,
                id,
                s.retry_backoff,
                s.max_attempts,
                cause,
                counted,
            )
            .await
        })
        .await?;
        if let Rescheduled::Failed(cause) = r {
            tracing::info!(id, cause, "outbox message failed");
        }
        Ok(())
    }

    /// Ok(true): recorded (or nothing to record); Ok(false): no row has this message_id yet.
    async fn apply_receipt(&self, receipt: &Receipt) -> Result<bool, StoreError> {
        if !receipt.state.is_final() {
            return Ok(true);
        }
        let cause = format!("delivery receipt {}", receipt.state.as_str());
        let outcome = if receipt.state == ReceiptState::Delivered {
            ReceiptOutcome::Delivered
        } else {
            ReceiptOutcome::Failed(&cause)
        };
        let applied = retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::apply_receipt(&mut conn, &receipt.message_id, outcome).await
        })
        .await?;
        Ok(applied != ReceiptApplied::Unknown)
    }

    /// Tries the held receipts again: one query finds those whose message_id a row now has
    /// (only they are applied, one by one); the others wait, or are dropped once held for
    /// [`RECEIPT_HOLD`].
    async fn retry_held(&self, held: &mut Vec<HeldReceipt>) {
        if held.is_empty() {
            return;
        }
        let ids: Vec<String> = held.iter().map(|h| h.receipt.message_id.clone()).collect();
        let known = match retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::known_message_ids(&mut conn, &ids).await
        })
        .await
        {
            Ok(known) => known,
            // The database is away: keep them all for the next tick.
            Err(_) => return,
        };
        let mut keep = Vec::new();
        for h in held.drain(..) {
            let applied = if known.contains(&h.receipt.message_id) {
                self.apply_receipt(&h.receipt).await
            } else {
                Ok(false)
            };
            match applied {
                Ok(true) => {
                    let _ = h.ack.send(true);
                }
                Ok(false) if h.since.elapsed() < RECEIPT_HOLD => keep.push(h),
                Ok(false) => drop_receipt(&h.receipt, h.ack, "unknown-message-id"),
                Err(_) => {
                    let _ = h.ack.send(false);
                }
            }
        }
        *held = keep;
    }

    async fn depth_gauges(&self) {
        let depth = async {
            let mut conn = self.store.conn().await?;
            outbox::depth_of(&mut conn, OutboxBearer::Smsc).await
        }
        .await;
        if let Ok(depth) = depth {
            for st in OutboxState::ALL {
                metrics::gauge!(names::SMPP_OUTBOX_DEPTH, "state" => st.as_str())
                    .set(depth.get(st) as f64);
            }
        }
    }
}

/// The job for a claimed row.
pub fn job_for(row: &OutboxRow) -> SubmitJob {
    let left = row
        .lease_until
        .map(|l| (l - Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(Duration::ZERO);
    SubmitJob {
        id: row.id,
        destination: row.destination.clone(),
        payload: row.payload.clone(),
        esm_class: u8::try_from(row.esm_class).unwrap_or(0),
        data_coding: u8::try_from(row.data_coding).unwrap_or(0),
        wap_push: row.kind == outbox::OutboxKind::WapPush.as_str(),
        lease_until: Instant::now() + left,
    }
}

/// Runs a store operation, retrying a few times on errors (a database restart, a full pool).
async fn retry<T, F, Fut>(mut op: F) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, StoreError>>,
{
    let mut delay = Duration::from_millis(50);
    let mut tries = 0;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if tries >= 4 => return Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "outbox store operation failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                tries += 1;
            }
        }
    }
}
