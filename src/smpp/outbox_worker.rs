//! The outbox worker: claims due outbox rows, hands them to the ESME binds, records what the
//! SMSC answered and applies delivery receipts, in batches.
//!
//! It claims only while at least one bind is up, at most [`CLAIM_BATCH`] rows at a time and
//! only as many as the shared job queue has room for (the binds' windows plus a prefetch the
//! leases allow, [`super::queue_capacity`]), so claimed rows do not wait long; a job whose
//! claim has expired before a bind takes it is not sent ([`EsmeEvent::LeaseLost`]) and the row
//! is claimed again. The events of the binds are taken as they come, up to [`EVENT_BATCH`] at
//! once (whatever arrived while the last batch was being recorded), and recorded per batch:
//!
//! | event | outbox |
//! |---|---|
//! | `Submitted` | `mark_submitted_all`: one `UPDATE ... FROM unnest(...)` for the batch |
//! | `SlowDown` (throttled, queue full) | `reschedule` after `retry_backoff`, attempt refunded |
//! | `Transient`, `Unknown` (bind lost, timeout) | `reschedule` after `retry_backoff`, counted; failed at `max_attempts` |
//! | `Permanent` | `mark_failed` with the status as cause |
//! | `Receipt` DELIVRD | `apply_receipts` (one statement for the batch): delivered |
//! | `Receipt` UNDELIV, EXPIRED, DELETED, REJECTD | `apply_receipts`: failed with the cause |
//! | `Unsent` (a stopping bind's job) | `release` on stop: queued again, attempt refunded |
//!
//! A receipt's `deliver_sm_resp` leaves once its batch is recorded: one statement per batch,
//! so receipts are answered at the pace the SMSC sends them, and the outbox's at-least-once
//! argument is unchanged (a receipt acknowledged is recorded; one not recorded is refused or
//! left unanswered, and the SMSC sends it again).
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
//! **Stopping.** On stop the worker claims nothing more and refuses the held receipts
//! (ESME_RX_T_APPN: the SMSC sends them again); the binds stop taking jobs and drain (the
//! answers to their windows, the receipts they are waiting on) before they unbind, and the
//! worker records what they report until every bind is down. Then the jobs nobody sent (left
//! in the queue, or taken by a bind that stopped) go back to the outbox at once.
//!
//! Metrics: `otagw_smpp_outbox_depth{state}`, `otagw_smpp_receipts_dropped_total{reason}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::esme::{Esme, EsmeEvent, JobQueue, SubmitJob};
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

/// Most events (responses, receipts) recorded in one batch.
pub const EVENT_BATCH: usize = 1024;

/// Most rows claimed in one statement.
pub const CLAIM_BATCH: usize = 500;

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
    /// The binds' job queue, emptied on stop (its jobs were claimed but never sent).
    queue: Option<JobQueue>,
}

impl OutboxWorker {
    /// A worker on `store`. With no binds given (see [`OutboxWorker::with_binds`]) it claims
    /// whenever the job queue has room.
    pub fn new(store: Store, settings: SmppConfig) -> Self {
        Self {
            store,
            settings,
            binds: Vec::new(),
            queue: None,
        }
    }

    /// Claims only while one of `binds` is up.
    pub fn with_binds(mut self, binds: Vec<Esme>) -> Self {
        self.binds = binds;
        self
    }

    /// The queue the binds take jobs from: on stop, the jobs left in it go back to the outbox
    /// at once ([`outbox::release`]) instead of waiting for their leases.
    pub fn with_job_queue(mut self, queue: JobQueue) -> Self {
        self.queue = Some(queue);
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

    /// Runs until the binds are all gone, or `stop` turns true and every bind has drained and
    /// unbound (the outcomes and receipts they report meanwhile are still recorded); then hands
    /// the jobs nobody sent back to the queue ([`outbox::release`]).
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
        let mut batch: Vec<EsmeEvent> = Vec::with_capacity(EVENT_BATCH);
        let mut unsent: Vec<i64> = Vec::new();
        let mut stopping = false;
        // Whether the last claim filled the queue: more rows may be due, so claim again as
        // soon as a bind frees room instead of waiting for the next tick.
        let mut more_due = false;
        loop {
            tokio::select! {
                changed = stop.changed(), if !stopping => {
                    if changed.is_err() || *stop.borrow() {
                        // Intake stops: nothing more is claimed, held receipts are refused
                        // (the SMSC sends them again), and the binds drain their windows.
                        stopping = true;
                        for h in held.drain(..) {
                            let _ = h.ack.send(false);
                        }
                        if !self.any_bind_alive() {
                            break;
                        }
                    }
                }
                n = events.recv_many(&mut batch, EVENT_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    self.on_events(&mut batch, &mut held, &mut unsent, stopping).await;
                    if more_due && !stopping && jobs.capacity() * 2 >= jobs.max_capacity() {
                        more_due = self.claim(&jobs).await;
                    }
                }
                _ = poll.tick() => {
                    if stopping {
                        if !self.any_bind_alive() {
                            break;
                        }
                        continue;
                    }
                    more_due = self.claim(&jobs).await;
                    self.retry_held(&mut held).await;
                    if last_depth.is_none_or(|t| t.elapsed() >= Duration::from_secs(2)) {
                        last_depth = Some(Instant::now());
                        self.depth_gauges().await;
                    }
                }
            }
        }
        // What the binds reported before they went is recorded too.
        while let Ok(event) = events.try_recv() {
            batch.push(event);
            if batch.len() >= EVENT_BATCH {
                self.on_events(&mut batch, &mut held, &mut unsent, true)
                    .await;
            }
        }
        self.on_events(&mut batch, &mut held, &mut unsent, true)
            .await;
        for h in held {
            let _ = h.ack.send(false);
        }
        // Claimed rows nobody sent go back to the queue at once rather than waiting for their
        // leases (a worker killed instead of stopped leaves them to the leases).
        if let Some(queue) = &self.queue {
            if let Ok(mut queue) = queue.try_lock() {
                while let Ok(job) = queue.try_recv() {
                    unsent.push(job.id);
                }
            }
        }
        self.release(&unsent).await;
    }

    /// Whether a bind may still report something: one is up (or draining), or there are none
    /// to wait for.
    fn any_bind_alive(&self) -> bool {
        self.binds.iter().any(Esme::is_bound)
    }

    fn any_bind_up(&self) -> bool {
        self.binds.is_empty() || self.binds.iter().any(Esme::is_bound)
    }

    /// Claims as many due rows as the job queue has room for (at most [`CLAIM_BATCH`]); true
    /// when it filled the room (more may be due) or had none.
    async fn claim(&self, jobs: &mpsc::Sender<SubmitJob>) -> bool {
        let room = jobs.capacity().min(CLAIM_BATCH);
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

    /// Records a batch of events (emptied): the accepted submits in one statement, then the
    /// other outcomes one by one, then the receipts in one statement (after the submits, so a
    /// receipt finds the row its submit_sm_resp of the same batch recorded).
    async fn on_events(
        &self,
        batch: &mut Vec<EsmeEvent>,
        held: &mut Vec<HeldReceipt>,
        unsent: &mut Vec<i64>,
        stopping: bool,
    ) {
        let mut accepted: Vec<(i64, String)> = Vec::new();
        let mut receipts: Vec<(Receipt, oneshot::Sender<bool>)> = Vec::new();
        let mut others: Vec<EsmeEvent> = Vec::new();
        for event in batch.drain(..) {
            match event {
                EsmeEvent::Submitted { id, message_id } => accepted.push((id, message_id)),
                EsmeEvent::Receipt { receipt, ack } => receipts.push((receipt, ack)),
                EsmeEvent::Unsent { id } => unsent.push(id),
                other => others.push(other),
            }
        }
        self.record_submitted(&accepted).await;
        for event in others {
            self.on_event(event).await;
        }
        if receipts.is_empty() {
            return;
        }
        let applied = self.apply_receipts(&receipts).await;
        for ((receipt, ack), applied) in receipts.into_iter().zip(applied) {
            match applied {
                Ok(true) => {
                    let _ = ack.send(true);
                }
                // Stopping: refused, the SMSC sends it again to whoever binds next.
                Ok(false) if stopping => {
                    let _ = ack.send(false);
                }
                Ok(false) if held.len() >= MAX_HELD_RECEIPTS => {
                    drop_receipt(&receipt, ack, "hold-full");
                }
                Ok(false) => held.push(HeldReceipt {
                    receipt,
                    since: Instant::now(),
                    ack,
                }),
                Err(()) => {
                    let _ = ack.send(false);
                }
            }
        }
    }

    /// Records accepted submits: one statement for the batch; if the database refuses it as a
    /// whole (a message_id already taken), row by row so only the bad one is left to its lease.
    async fn record_submitted(&self, accepted: &[(i64, String)]) {
        if accepted.is_empty() {
            return;
        }
        let all = retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::mark_submitted_all(&mut conn, accepted).await
        })
        .await;
        match all {
            Ok(recorded) => {
                if recorded.len() < accepted.len() {
                    let recorded: std::collections::HashSet<i64> = recorded.into_iter().collect();
                    for (id, message_id) in accepted.iter().filter(|(id, _)| !recorded.contains(id))
                    {
                        tracing::warn!(
                            id,
                            message_id,
                            "submit_sm_resp for a row no longer claimed"
                        );
                    }
                }
            }
            Err(StoreError::Database(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ))) => {
                for (id, message_id) in accepted {
                    let r = async {
                        let mut conn = self.store.conn().await?;
                        outbox::mark_submitted(&mut conn, *id, message_id).await
                    }
                    .await;
                    match r {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(
                            id,
                            message_id,
                            "submit_sm_resp for a row no longer claimed"
                        ),
                        Err(e) => {
                            tracing::warn!(id, message_id, error = %e, "cannot record a submit_sm_resp; the row's lease will expire")
                        }
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, rows = accepted.len(), "cannot record submit_sm_resps; the rows' leases will expire");
            }
        }
    }

    /// Hands unsent claimed rows back to the queue.
    async fn release(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        let r = retry(|| async {
            let mut conn = self.store.conn().await?;
            outbox::release(&mut conn, ids).await
        })
        .await;
        if let Err(e) = r {
            tracing::warn!(error = %e, rows = ids.len(), "cannot hand unsent rows back; their leases will expire");
        }
    }

    async fn on_event(&self, event: EsmeEvent) {
        let s = &self.settings;
        let result = match event {
            EsmeEvent::Submitted { id, message_id } => {
                self.record_submitted(&[(id, message_id)]).await;
                Ok(())
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
            EsmeEvent::Unsent { id } => {
                self.release(&[id]).await;
                Ok(())
            }
            // Receipts are applied in batches by `on_events`, never here.
            EsmeEvent::Receipt { ack, .. } => {
                let _ = ack.send(false);
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

    /// Applies receipts in one batch ([`outbox::apply_receipts`]), answering for each in
    /// order: Ok(true) recorded (or nothing to record: a repeat, an intermediate state);
    /// Ok(false) no row has this message_id yet; Err(()) the database could not be reached.
    async fn apply_receipts<A>(&self, receipts: &[(Receipt, A)]) -> Vec<Result<bool, ()>> {
        let causes: Vec<String> = receipts
            .iter()
            .map(|(r, _)| format!("delivery receipt {}", r.state.as_str()))
            .collect();
        let finals: Vec<(&str, ReceiptOutcome<'_>)> = receipts
            .iter()
            .zip(&causes)
            .filter(|((r, _), _)| r.state.is_final())
            .map(|((r, _), cause)| {
                let outcome = if r.state == ReceiptState::Delivered {
                    ReceiptOutcome::Delivered
                } else {
                    ReceiptOutcome::Failed(cause)
                };
                (r.message_id.as_str(), outcome)
            })
            .collect();
        let applied = if finals.is_empty() {
            Ok(Vec::new())
        } else {
            retry(|| async {
                let mut conn = self.store.conn().await?;
                outbox::apply_receipts(&mut conn, &finals).await
            })
            .await
        };
        let mut applied = match applied {
            Ok(applied) => applied.into_iter(),
            Err(e) => {
                tracing::warn!(error = %e, receipts = finals.len(), "cannot record receipts");
                return receipts
                    .iter()
                    .map(|(r, _)| {
                        if r.state.is_final() {
                            Err(())
                        } else {
                            Ok(true)
                        }
                    })
                    .collect();
            }
        };
        receipts
            .iter()
            .map(|(r, _)| {
                if !r.state.is_final() {
                    return Ok(true);
                }
                Ok(applied.next().is_some_and(|a| a != ReceiptApplied::Unknown))
            })
            .collect()
    }

    /// Tries the held receipts again: one query finds those whose message_id a row now has
    /// (only they are applied, in one batch); the others wait, or are dropped once held for
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
        let (ready, waiting): (Vec<HeldReceipt>, Vec<HeldReceipt>) = held
            .drain(..)
            .partition(|h| known.contains(&h.receipt.message_id));
        let pairs: Vec<(Receipt, HeldReceipt)> =
            ready.into_iter().map(|h| (h.receipt.clone(), h)).collect();
        let applied = self.apply_receipts(&pairs).await;
        let mut keep = Vec::new();
        let tried = pairs.into_iter().map(|(_, h)| h).zip(applied);
        let untried = waiting.into_iter().map(|h| (h, Ok(false)));
        for (h, applied) in tried.chain(untried) {
            match applied {
                Ok(true) => {
                    let _ = h.ack.send(true);
                }
                Ok(false) if h.since.elapsed() < RECEIPT_HOLD => keep.push(h),
                Ok(false) => drop_receipt(&h.receipt, h.ack, "unknown-message-id"),
                Err(()) => {
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
