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

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::sync::{mpsc, Mutex};

use crate::setting::{self, InvalidSetting};
use crate::store::Store;
use crate::supervisor::{Supervisor, Task};

pub use esme::{Esme, EsmeEvent, JobQueue, SubmitJob};
pub use outbox_worker::OutboxWorker;
pub use receipt::{Receipt, ReceiptState};
pub use status::StatusClass;

/// The SMPP sender's section of the configuration (`[smpp]`): the SMSC, the bind's credentials,
/// the binds' pace and timers. Typed when the file is read; [`SmppConfig::validate`] checks the
/// ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmppConfig {
    /// Whether the gateway binds to an SMSC (WAP push, text SMS).
    pub enabled: bool,
    /// The SMSC.
    #[serde(with = "crate::setting::addr")]
    pub smsc: SocketAddr,
    /// system_id sent in bind_transceiver (at most 15 characters).
    pub system_id: String,
    /// password sent in bind_transceiver (at most 8 characters; redacted by `otagw config`).
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
    /// Attempts per message before it fails (a claim is an attempt).
    pub max_attempts: i32,
    /// SMPP version offered in bind_transceiver: 5.0 (taken when the SMSC's
    /// sc_interface_version says it speaks 5.0, else the bind runs 3.4; an SMSC that refuses a
    /// 5.0 bind is bound again with 3.4) or 3.4.
    pub interface_version: InterfaceVersion,
    /// Time between enquire_links (`enquire_link_secs`); the bind is dropped after two
    /// unanswered.
    #[serde(rename = "enquire_link_secs", with = "crate::setting::secs")]
    pub enquire_link: Duration,
    /// How long to wait for a submit_sm_resp or the bind_transceiver_resp
    /// (`response_timeout_ms`).
    #[serde(rename = "response_timeout_ms", with = "crate::setting::millis")]
    pub response_timeout: Duration,
    /// Delay before a message is tried again after a transient failure (`retry_backoff_ms`).
    #[serde(rename = "retry_backoff_ms", with = "crate::setting::millis")]
    pub retry_backoff: Duration,
    /// How long a claim on an outbox row lasts (`lease_secs`); longer than
    /// `response_timeout`.
    #[serde(rename = "lease_secs", with = "crate::setting::secs")]
    pub lease: Duration,
    /// How often the outbox is polled for due rows (`poll_interval_ms`).
    #[serde(rename = "poll_interval_ms", with = "crate::setting::millis")]
    pub poll_interval: Duration,
    /// Largest pause between reconnection attempts (`max_reconnect_backoff_ms`; the first is
    /// 100 ms, then doubling).
    #[serde(rename = "max_reconnect_backoff_ms", with = "crate::setting::millis")]
    pub max_reconnect_backoff: Duration,
}

impl Default for SmppConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            smsc: SocketAddr::from(([127, 0, 0, 1], 2775)),
            system_id: "otagw".to_string(),
            password: String::new(),
            system_type: "OTA".to_string(),
            source_addr: String::new(),
            binds: 1,
            window: 10,
            max_rate_per_sec: 100,
            max_attempts: 5,
            interface_version: InterfaceVersion::V5_0,
            enquire_link: Duration::from_secs(30),
            response_timeout: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(5),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(200),
            max_reconnect_backoff: Duration::from_secs(10),
        }
    }
}

impl SmppConfig {
    /// Checks the values the types allow but the sender does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        // C-Octet Strings of bind_transceiver (SMPP 3.4 §4.1.1): 16, 9 and 13 octets with
        // their NUL.
        for (key, value, max) in [
            ("smpp.system_id", &self.system_id, 15),
            ("smpp.password", &self.password, 8),
            ("smpp.system_type", &self.system_type, 12),
        ] {
            if value.len() > max {
                // The password itself is not repeated.
                return Err(InvalidSetting::new(
                    key,
                    format!("expected at most {max} characters, got {}", value.len()),
                ));
            }
        }
        setting::within("smpp.binds", self.binds, 1..=1000, "binds")?;
        setting::within(
            "smpp.window",
            self.window,
            1..=10_000,
            "submit_sm in flight",
        )?;
        setting::within(
            "smpp.max_rate_per_sec",
            self.max_rate_per_sec,
            1..=u32::MAX,
            "submit_sm per second",
        )?;
        setting::within("smpp.max_attempts", self.max_attempts, 1..=1000, "attempts")?;
        setting::secs_within("smpp.enquire_link_secs", self.enquire_link, 1..=3600)?;
        setting::millis_within(
            "smpp.response_timeout_ms",
            self.response_timeout,
            100..=600_000,
        )?;
        setting::millis_within("smpp.retry_backoff_ms", self.retry_backoff, 10..=3_600_000)?;
        setting::secs_within("smpp.lease_secs", self.lease, 1..=86_400)?;
        if self.lease <= self.response_timeout {
            return Err(InvalidSetting::new(
                "smpp.lease_secs",
                format!(
                    "expected more than smpp.response_timeout_ms ({} ms): a claim must outlast \
                     the wait for a response, got {} seconds",
                    self.response_timeout.as_millis(),
                    self.lease.as_secs()
                ),
            ));
        }
        setting::millis_within("smpp.poll_interval_ms", self.poll_interval, 10..=60_000)?;
        setting::millis_within(
            "smpp.max_reconnect_backoff_ms",
            self.max_reconnect_backoff,
            100..=600_000,
        )?;
        Ok(())
    }
}

/// The SMPP version a bind offers, written `"3.4"` or `"5.0"` in the configuration; on the
/// wire the interface_version octet ([`SMPP_3_4`], [`SMPP_5_0`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum InterfaceVersion {
    /// SMPP 3.4.
    V3_4,
    /// SMPP 5.0.
    #[default]
    V5_0,
}

impl InterfaceVersion {
    /// The interface_version octet.
    pub const fn octet(self) -> u8 {
        match self {
            Self::V3_4 => SMPP_3_4,
            Self::V5_0 => SMPP_5_0,
        }
    }

    /// As written in the configuration: `3.4` or `5.0`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V3_4 => "3.4",
            Self::V5_0 => "5.0",
        }
    }
}

/// A version the gateway does not offer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected \"3.4\" or \"5.0\", got {0}")]
pub struct UnknownVersion(String);

impl std::str::FromStr for InterfaceVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "3.4" => Ok(Self::V3_4),
            "5.0" => Ok(Self::V5_0),
            other => Err(UnknownVersion(format!("{other:?}"))),
        }
    }
}

impl TryFrom<u8> for InterfaceVersion {
    type Error = UnknownVersion;

    fn try_from(octet: u8) -> Result<Self, Self::Error> {
        match octet {
            SMPP_3_4 => Ok(Self::V3_4),
            SMPP_5_0 => Ok(Self::V5_0),
            other => Err(UnknownVersion(format!("{other:#04x}"))),
        }
    }
}

impl From<InterfaceVersion> for u8 {
    fn from(v: InterfaceVersion) -> u8 {
        v.octet()
    }
}

impl PartialEq<u8> for InterfaceVersion {
    fn eq(&self, other: &u8) -> bool {
        self.octet() == *other
    }
}

impl std::fmt::Display for InterfaceVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for InterfaceVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for InterfaceVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Most claimed rows waiting in the job queue beyond the binds' windows.
pub const MAX_PREFETCH: usize = 500;

/// Room in the job queue the binds share: their windows, plus claimed rows waiting so a bind
/// whose window frees finds the next job at once while the worker records and claims the next
/// batch. The rows waiting are bounded by [`MAX_PREFETCH`] and by what the binds send in half
/// the time a claim leaves them (`lease - response_timeout`) at their `max_rate_per_sec`, so a
/// waiting job is not left to expire.
pub fn queue_capacity(config: &SmppConfig) -> usize {
    let binds = config.binds.max(1);
    let windows = binds.saturating_mul(config.window.max(1));
    let spare = config.lease.saturating_sub(config.response_timeout) / 2;
    let rate = u64::from(config.max_rate_per_sec).saturating_mul(binds as u64);
    let in_spare = usize::try_from(u128::from(rate).saturating_mul(spare.as_millis()) / 1000)
        .unwrap_or(usize::MAX);
    windows.saturating_add(in_spare.min(MAX_PREFETCH))
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
    /// `config.binds` ESME binds and one outbox worker on `store`, with their [`Task`]s for
    /// a supervisor.
    pub fn new(store: Store, config: SmppConfig) -> (Self, Vec<Task>) {
        let binds_n = config.binds.max(1);
        let (job_tx, job_rx) = mpsc::channel(queue_capacity(&config));
        let jobs: JobQueue = std::sync::Arc::new(Mutex::new(job_rx));
        let (event_tx, event_rx) = mpsc::channel(4096);
        let mut binds = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..binds_n {
            let (esme, task) = Esme::new(
                format!("{}-{i}", config.system_id),
                config.clone(),
                jobs.clone(),
                event_tx.clone(),
            );
            binds.push(esme);
            tasks.push(task);
        }
        drop(event_tx);
        let worker = OutboxWorker::new(store, config)
            .with_binds(binds.clone())
            .with_job_queue(jobs);
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
    pub fn start(store: Store, config: SmppConfig) -> Self {
        let (mut sender, tasks) = Self::new(store, config);
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_version_is_written_as_smpp_names_it_and_sent_as_its_octet() {
        for (text, version, octet) in [
            ("3.4", InterfaceVersion::V3_4, SMPP_3_4),
            ("5.0", InterfaceVersion::V5_0, SMPP_5_0),
        ] {
            assert_eq!(text.parse::<InterfaceVersion>().unwrap(), version);
            assert_eq!(version.to_string(), text);
            assert_eq!(version.octet(), octet);
            assert_eq!(version, octet);
            assert_eq!(InterfaceVersion::try_from(octet).unwrap(), version);
            assert_eq!(version_name(octet), text);
        }
        assert_eq!(
            "4.0".parse::<InterfaceVersion>().unwrap_err().to_string(),
            "expected \"3.4\" or \"5.0\", got \"4.0\""
        );
        assert!(InterfaceVersion::try_from(0x33).is_err());
        assert_eq!(InterfaceVersion::default(), InterfaceVersion::V5_0);
    }

    #[test]
    fn the_job_queue_holds_the_windows_and_a_prefetch_the_leases_allow() {
        let c = SmppConfig::default();
        // window 10 + min(500, 100/s x 25 s)
        assert_eq!(queue_capacity(&c), 10 + MAX_PREFETCH);
        let slow = SmppConfig {
            max_rate_per_sec: 2,
            binds: 2,
            ..SmppConfig::default()
        };
        // 2 x 10 + 2 x 2/s x 25 s
        assert_eq!(queue_capacity(&slow), 20 + 100);
        let tight = SmppConfig {
            lease: Duration::from_millis(10_400),
            ..SmppConfig::default()
        };
        assert_eq!(queue_capacity(&tight), 10 + 20);
    }

    #[test]
    fn the_defaults_are_valid_and_a_lease_must_outlast_the_response_wait() {
        let mut c = SmppConfig::default();
        c.validate().unwrap();
        c.lease = c.response_timeout;
        assert_eq!(c.validate().unwrap_err().key, "smpp.lease_secs");
    }
}
