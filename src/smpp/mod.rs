//! The SMPP sender: the gateway as an ESME towards the operator's SMSC (SMPP 3.4).
//!
//! ```text
//!   enqueue (a row)          outbox worker                       ESME binds (actors)
//!   store::outbox ----claim_due (lease)----> SubmitJob queue ----> bind 0 --submit_sm--> SMSC
//!        ^                                   (shared by binds)     bind 1 --submit_sm--> SMSC
//!        |                                                             |
//!        +---- mark_submitted / reschedule / mark_failed <--- EsmeEvent (resp, errors)
//!        +---- mark_delivered_by_message_id <------------- EsmeEvent::Receipt (deliver_sm)
//! ```
//!
//! - [`esme`]: one actor per bind (`bind_transceiver`): the async shell (TCP, the job queue,
//!   reconnection with back-off, delivery receipts, metrics) around the sans-IO SMPP session of
//!   [`otagw_codecs::smpp`], which keeps the window of unacknowledged `submit_sm`, the
//!   token-bucket rate limit, throttling and congestion pauses, `enquire_link` and unbind.
//! - [`outbox_worker`]: claims due rows from the outbox, hands them to the binds, records the
//!   outcomes and applies the receipts.
//! - [`status`], [`congestion`] (from `otagw_codecs::smpp`): which `command_status` values are
//!   transient, throttling or permanent; the SMSC's SMPP 5.0 `congestion_state` and the pace a
//!   bind keeps on it.
//! - `link`: the TCP side of a session (write what it polls, read into it, fire its timer),
//!   shared with the OSPP handler's connections.
//! - [`receipt`]: delivery receipts out of `deliver_sm` (TLVs or the "id:... stat:..." text).
//!
//! The durability argument (what is sent exactly once and what at least once) is on
//! [`crate::store::outbox`].

pub mod esme;
pub(crate) mod link;
pub mod outbox_worker;
pub mod receipt;

pub use otagw_codecs::smpp::{congestion, status};
pub use otagw_codecs::smpp::{negotiated_version, version_name, SMPP_3_4, SMPP_5_0};

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::{mpsc, Mutex};

use crate::store::Store;
use crate::supervisor::{Supervisor, Task};

pub use esme::{Esme, EsmeEvent, JobQueue, SubmitJob};
pub use outbox_worker::OutboxWorker;
pub use receipt::{Receipt, ReceiptState};
pub use status::StatusClass;

/// Settings of the SMPP sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmppSettings {
    /// The SMSC.
    pub smsc: SocketAddr,
    /// system_id sent in bind_transceiver (at most 15 characters).
    pub system_id: String,
    /// password sent in bind_transceiver (at most 8 characters).
    pub password: String,
    /// system_type sent in bind_transceiver (at most 12 characters).
    pub system_type: String,
    /// source_addr of every submit_sm (empty: the SMSC's default).
    pub source_addr: String,
    /// Number of binds (actors) sharing the outbox.
    pub binds: usize,
    /// Most submit_sm awaiting their submit_sm_resp, per bind.
    pub window: usize,
    /// Most submit_sm per second, per bind (token bucket).
    pub max_rate_per_sec: u32,
    /// Seconds between enquire_links; the bind is dropped after two unanswered.
    pub enquire_link_secs: u64,
    /// Attempts per message before it fails (a claim is an attempt).
    pub max_attempts: i32,
    /// Delay before a message is tried again after a transient failure.
    pub retry_backoff: Duration,
    /// How long to wait for a submit_sm_resp (or the bind_transceiver_resp).
    pub response_timeout: Duration,
    /// How long a claim on an outbox row lasts; it must outlast `response_timeout` by a margin.
    pub lease: Duration,
    /// How often the outbox is polled for due rows.
    pub poll_interval: Duration,
    /// Largest pause between reconnection attempts.
    pub max_reconnect_backoff: Duration,
    /// SMPP version offered in bind_transceiver: [`SMPP_5_0`] (taken when the SMSC's
    /// sc_interface_version says it speaks 5.0, else the bind runs 3.4) or [`SMPP_3_4`].
    pub interface_version: u8,
}

impl Default for SmppSettings {
    fn default() -> Self {
        Self {
            smsc: SocketAddr::from(([127, 0, 0, 1], 2775)),
            system_id: "otagw".to_string(),
            password: String::new(),
            system_type: "OTA".to_string(),
            source_addr: String::new(),
            binds: 1,
            window: 10,
            max_rate_per_sec: 100,
            enquire_link_secs: 30,
            max_attempts: 5,
            retry_backoff: Duration::from_secs(5),
            response_timeout: Duration::from_secs(10),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(200),
            max_reconnect_backoff: Duration::from_secs(10),
            interface_version: SMPP_5_0,
        }
    }
}

/// The whole sender: the binds and the outbox worker, started and stopped together.
#[derive(Debug)]
pub struct SmppSender {
    /// The binds.
    pub binds: Vec<Esme>,
    /// Its own supervisor, when started with [`SmppSender::start`].
    supervisor: Option<Supervisor>,
}

impl SmppSender {
    /// `settings.binds` ESME binds and one outbox worker on `store`, with their [`Task`]s for
    /// a supervisor.
    pub fn new(store: Store, settings: SmppSettings) -> (Self, Vec<Task>) {
        let binds_n = settings.binds.max(1);
        let (job_tx, job_rx) = mpsc::channel(binds_n * settings.window.max(1));
        let jobs: JobQueue = std::sync::Arc::new(Mutex::new(job_rx));
        let (event_tx, event_rx) = mpsc::channel(4096);
        let mut binds = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..binds_n {
            let (esme, task) = Esme::new(
                format!("{}-{i}", settings.system_id),
                settings.clone(),
                jobs.clone(),
                event_tx.clone(),
            );
            binds.push(esme);
            tasks.push(task);
        }
        drop(event_tx);
        let worker = OutboxWorker::new(store, settings).with_binds(binds.clone());
        tasks.push(worker.task(job_tx, event_rx));
        (
            Self {
                binds,
                supervisor: None,
            },
            tasks,
        )
    }

    /// [`SmppSender::new`], with the tasks run by a supervisor of its own until
    /// [`SmppSender::stop`].
    pub fn start(store: Store, settings: SmppSettings) -> Self {
        let (mut sender, tasks) = Self::new(store, settings);
        let mut supervisor = Supervisor::new();
        for task in tasks {
            supervisor.spawn(task);
        }
        sender.supervisor = Some(supervisor);
        sender
    }

    /// Waits until every bind is up (or `timeout`).
    pub async fn wait_bound(&self, timeout: Duration) -> bool {
        for b in &self.binds {
            if !b.wait_bound(timeout).await {
                return false;
            }
        }
        true
    }

    /// Stops the binds (unbind) and the worker, and waits for them (a sender under the
    /// gateway's supervisor stops with the gateway's links instead).
    pub async fn stop(self) {
        if let Some(supervisor) = self.supervisor {
            supervisor.shutdown().await;
        }
    }
}
