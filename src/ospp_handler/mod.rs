//! The OSPP handler: the gateway as an SMPP server (SMPP 3.4, SMSC side) for IVRs and OTAP
//! tools, carrying OSPP messages (`docs/ospp.md`).
//!
//! ```text
//!   IVR / OTAP tool                       OSPP handler                         OSPP driver
//!   bind_transceiver ------------------>  account check
//!   submit_sm pid=0x7C "OSPP/1 START"  -> decode (pid, text) -> submit_sm_resp
//!                                         spawn per request  ----------------> prl_push(..)
//!   deliver_sm "OSPP/1 ACCEPTED ..."   <- reply router    <- session id
//!   deliver_sm "OSPP/1 RESULT ..."     <- watch the session row until it ends
//! ```
//!
//! Each connection runs the SMPP session machine of `otagw_codecs::smpp` in its server role
//! (the one the simulated SMSC runs too); `connection.rs` is its shell and the decisions below.
//!
//! Binds: `bind_transceiver`, `bind_transmitter` and `bind_receiver` are accepted only with the
//! system_id and password of an enabled SMPP account of the store (roles `ivr`, `otap-tool`;
//! argon2id hash, `crate::access`) or of a legacy `[ospp] accounts` entry of the file (hashed
//! at start-up, allowed what both SMPP roles allow). Otherwise the bind_*_resp carries
//! ESME_RBINDFAIL (0x0D), the same for an unknown system_id and a wrong password, and the
//! connection is closed. A system_id in both places is refused (never shadowed). Failed binds
//! from one address are slowed down: after the n-th failure within [`FAILURE_WINDOW`], the
//! next bind from that address is answered only after `250 ms * 2^(n-1)` (at most
//! [`MAX_BIND_DELAY`]); a successful bind clears the count. A submit_sm whose protocol_id the
//! account's roles do not allow (`crate::access::TABLE`) is answered ESME_RX_P_APPN (0x65) and
//! nothing is started. A second bind on a bound
//! connection gets ESME_RALYBND. `submit_sm` before a bind (or on a receiver bind) gets
//! ESME_RINVBNDSTS (0x04), any other request before a bind a generic_nack with that status.
//! `enquire_link` is answered in any state, `unbind` is answered and closes the connection,
//! other requests get generic_nack ESME_RINVCMDID.
//!
//! `submit_sm`: the OSPP text is the short_message, or the message_payload TLV when the
//! short_message is empty. It is decoded with the submit_sm's protocol_id
//! ([`otagw_codecs::ospp::Request::decode`]). A submit_sm that is no OSPP message is answered
//! with `ospp::status::EMPTY` (ESME_RINVMSGLEN) or `ospp::status::INVALID` (ESME_RSUBMITFAIL)
//! and nothing is started. A valid one is answered with ESME_ROK and a fresh message_id at once,
//! then acted on in its own task (requests are independent of each other), by protocol_id:
//!
//! - 0x7A (OTASP over SS7, `trn=`): the star-code flow runs to its end inside the driver, and the
//!   session id is only known then, so there is no `ACCEPTED`: the tool gets a single `RESULT`
//!   (the session's outcome, cause and detail) or `REJECTED` (cause from the flow's error) when
//!   no session was opened;
//! - 0x7B (IVR-assisted IOTA activation): see [`requests`];
//! - 0x7C (PRL download): `ACCEPTED ref=<session id>` once the push is queued, then the session
//!   row is watched (every [`OsppConfig::poll_interval`], for at most
//!   [`OsppConfig::result_watch`]) and `RESULT` is sent when it is no longer active; a
//!   refused push gets `REJECTED`. A session still active when the watch ends gets no `RESULT`
//!   (the tool asks with `STATUS`);
//! - 0x7D (`STATUS ref=<session id>`): `RESULT` for an ended session, `ACCEPTED` for an active
//!   one, `REJECTED cause=unknown-ref` otherwise. Any session id can be asked about.
//!
//! Replies are `deliver_sm` with esm_class 0x00, data_coding 0x01, the request's protocol_id,
//! the submit_sm's addresses swapped, and the OSPP text as short_message (in message_payload
//! when longer than 254 octets). A reply goes to the connection the request came on when it can
//! receive (a transceiver bind), else to another receiving bind of the same system_id; when no
//! such bind is up it waits for one for up to [`OsppConfig::reply_wait`] and is then
//! dropped (logged). `deliver_sm_resp` statuses are not acted on.
//!
//! Metrics: `otagw_ospp_requests_total{session_type,outcome}` (outcome `invalid`, `rejected`,
//! `success`, `failure`, `pending` for a watch that ended before the session, `answered` for a
//! status query), `otagw_ospp_binds` (binds up).

mod connection;
pub mod requests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusmpp::pdus::DeliverSm;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::access::{password, Role};
use crate::dispatcher::Dispatcher;
use crate::listener::ConnectionGate;
use crate::setting::{self, InvalidSetting};
use crate::store::Store;
use crate::supervisor::{Stage, Supervisor, Task};

/// The OSPP handler's section of the configuration (`[ospp]`): where it listens, the tools'
/// accounts, its timers. Typed when the file is read; [`OsppConfig::validate`] checks the
/// ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsppConfig {
    /// Whether the gateway accepts SMPP binds from tools.
    pub enabled: bool,
    /// Where the handler listens (port 0: any).
    #[serde(with = "crate::setting::addr")]
    pub listen: SocketAddr,
    /// Legacy accounts tools bind with, from the file (passwords are redacted by `otagw
    /// config`; empty passwords and repeated system_ids are refused). Prefer accounts in the
    /// store: `otagw account create NAME --role ivr`.
    pub accounts: Vec<OsppAccount>,
    /// How often a started session's row is read to see whether it ended (`poll_interval_ms`).
    #[serde(rename = "poll_interval_ms", with = "crate::setting::millis")]
    pub poll_interval: Duration,
    /// How long a started session is watched for its end before the handler stops watching
    /// (`result_watch_secs`).
    #[serde(rename = "result_watch_secs", with = "crate::setting::secs")]
    pub result_watch: Duration,
    /// How long a reply waits for a bind that can receive it (`reply_wait_secs`).
    #[serde(rename = "reply_wait_secs", with = "crate::setting::secs")]
    pub reply_wait: Duration,
    /// Connections served at once (more are closed at once).
    pub max_connections: usize,
    /// Connections served at once from one source address.
    pub max_connections_per_source: usize,
    /// Time for a PDU begun to be complete (`pdu_timeout_secs`); then the connection is closed.
    #[serde(rename = "pdu_timeout_secs", with = "crate::setting::secs")]
    pub pdu_timeout: Duration,
    /// Time a connection may send nothing, not even enquire_link (`idle_timeout_secs`); then
    /// it is closed.
    #[serde(rename = "idle_timeout_secs", with = "crate::setting::secs")]
    pub idle_timeout: Duration,
}

/// One tool's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsppAccount {
    /// The system_id it binds with.
    pub system_id: String,
    /// Its password.
    pub password: String,
}

impl Default for OsppConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 2776)),
            accounts: Vec::new(),
            poll_interval: Duration::from_millis(200),
            result_watch: Duration::from_secs(3600),
            reply_wait: Duration::from_secs(30),
            max_connections: 64,
            max_connections_per_source: 16,
            pdu_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
        }
    }
}

impl OsppConfig {
    /// Checks the values the types allow but the handler does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        for (i, a) in self.accounts.iter().enumerate() {
            if a.system_id.is_empty() {
                return Err(InvalidSetting::new(
                    "ospp.accounts",
                    format!("account {i} has an empty system_id"),
                ));
            }
            if a.password.is_empty() {
                return Err(InvalidSetting::new(
                    "ospp.accounts",
                    format!("account {:?} has an empty password", a.system_id),
                ));
            }
            if self.accounts[..i]
                .iter()
                .any(|b| b.system_id == a.system_id)
            {
                return Err(InvalidSetting::new(
                    "ospp.accounts",
                    format!("system_id {:?} is given twice", a.system_id),
                ));
            }
        }
        setting::millis_within("ospp.poll_interval_ms", self.poll_interval, 10..=60_000)?;
        setting::secs_within("ospp.result_watch_secs", self.result_watch, 1..=86_400)?;
        setting::secs_within("ospp.reply_wait_secs", self.reply_wait, 1..=3600)?;
        setting::within(
            "ospp.max_connections",
            self.max_connections,
            1..=100_000,
            "connections",
        )?;
        setting::within(
            "ospp.max_connections_per_source",
            self.max_connections_per_source,
            1..=self.max_connections.max(1),
            "connections (at most max_connections)",
        )?;
        setting::secs_within("ospp.pdu_timeout_secs", self.pdu_timeout, 1..=3600)?;
        setting::secs_within("ospp.idle_timeout_secs", self.idle_timeout, 1..=86_400)
    }
}

/// Why the handler could not start.
#[derive(Debug, Error)]
pub enum OsppHandlerError {
    /// The configuration's accounts are not usable.
    #[error(transparent)]
    Accounts(#[from] InvalidSetting),
    /// A configured account's password could not be hashed.
    #[error("OSPP handler: {0}")]
    Hash(#[from] password::PasswordError),
    /// The listening socket could not be opened.
    #[error("OSPP handler: listening on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The OSPP handler.
#[derive(Debug)]
pub struct OsppHandler;

/// A request's work, run by the handler's task.
type RequestWork = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl OsppHandler {
    /// Listens on `config.listen` (port 0 for any); returns the handler and its [`Task`] (for
    /// the supervisor, in the intake stage): the task accepts tools, serves their connections
    /// and runs the requests they make until its stop signal turns true.
    pub async fn bind(
        config: OsppConfig,
        driver: Dispatcher,
        store: Store,
    ) -> Result<(OsppHandlerHandle, Task), OsppHandlerError> {
        config.validate()?;
        let file_accounts = config
            .accounts
            .iter()
            .map(|a| Ok((a.system_id.clone(), password::hash(&a.password)?)))
            .collect::<Result<Vec<_>, password::PasswordError>>()?;
        let listen = config.listen;
        let listener =
            TcpListener::bind(listen)
                .await
                .map_err(|source| OsppHandlerError::Listen {
                    addr: listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| OsppHandlerError::Listen {
                addr: listen,
                source,
            })?;
        let (stopping_tx, stopping) = watch::channel(false);
        let (work_tx, work_rx) = mpsc::unbounded_channel();
        // Message ids stay unique across restarts: they start from the clock.
        let base = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        let shared = Arc::new(Shared {
            config,
            driver,
            store,
            binds: Mutex::new(HashMap::new()),
            file_accounts,
            failures: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            next_message: AtomicU64::new(base),
            stop: stopping,
            work: work_tx,
        });
        metrics::gauge!(crate::telemetry::names::OSPP_BINDS).set(0.0);
        tracing::info!(%addr, "OSPP handler listening");
        let task = Task::once("OSPP handler", Stage::Intake, move |stop| {
            accept_loop(listener, shared, work_rx, stop, stopping_tx)
        });
        Ok((
            OsppHandlerHandle {
                addr,
                supervisor: None,
            },
            task,
        ))
    }

    /// [`OsppHandler::bind`], with the task run by a supervisor of its own until
    /// [`OsppHandlerHandle::stop`].
    pub async fn start(
        config: OsppConfig,
        driver: Dispatcher,
        store: Store,
    ) -> Result<OsppHandlerHandle, OsppHandlerError> {
        let (mut handle, task) = Self::bind(config, driver, store).await?;
        let mut supervisor = Supervisor::new();
        supervisor.spawn(task);
        handle.supervisor = Some(supervisor);
        Ok(handle)
    }
}

/// A running OSPP handler.
#[derive(Debug)]
pub struct OsppHandlerHandle {
    addr: SocketAddr,
    /// Its own supervisor, when started with [`OsppHandler::start`].
    supervisor: Option<Supervisor>,
}

impl OsppHandlerHandle {
    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening, unbinds every tool, stops watching sessions, and waits for the
    /// connections to close (a handler under the gateway's supervisor stops with the
    /// gateway's intake instead). Sessions already started go on in the driver.
    pub async fn stop(self) {
        if let Some(supervisor) = self.supervisor {
            supervisor.shutdown().await;
        }
    }
}

/// Failed binds older than this are forgotten.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(600);
/// The longest a bind is held back for its address's failures.
pub const MAX_BIND_DELAY: Duration = Duration::from_secs(8);

/// The wait before answering a bind from an address with `failures` recent failed binds.
fn bind_delay_after(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << failures.saturating_sub(1).min(10);
    (Duration::from_millis(250) * factor).min(MAX_BIND_DELAY)
}

/// A bind that is up, as the reply router sees it.
#[derive(Debug)]
struct BindEntry {
    system_id: String,
    /// Whether deliver_sm may be sent on it (transceiver or receiver).
    receives: bool,
    out: mpsc::Sender<DeliverSm>,
}

/// What the connections and request tasks share.
#[derive(Debug)]
struct Shared {
    config: OsppConfig,
    driver: Dispatcher,
    store: Store,
    binds: Mutex<HashMap<u64, BindEntry>>,
    /// The file's legacy accounts: system_id and argon2id hash (made at start-up).
    file_accounts: Vec<(String, String)>,
    /// Failed binds by source address: how many, and when the last was.
    failures: Mutex<HashMap<IpAddr, (u32, std::time::Instant)>>,
    next_conn: AtomicU64,
    next_message: AtomicU64,
    /// Turns true when the handler stops.
    stop: watch::Receiver<bool>,
    /// Where requests' work goes to run in the handler's task.
    work: mpsc::UnboundedSender<RequestWork>,
}

impl Shared {
    fn binds(&self) -> std::sync::MutexGuard<'_, HashMap<u64, BindEntry>> {
        self.binds.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a bind from `ip` waits before it is answered (its recent failures).
    fn bind_delay(&self, ip: IpAddr) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, (_, last)| last.elapsed() < FAILURE_WINDOW);
        match failures.get(&ip) {
            Some((n, _)) => bind_delay_after(*n),
            None => Duration::ZERO,
        }
    }

    fn note_bind(&self, ip: IpAddr, ok: bool) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            failures.remove(&ip);
        } else {
            let entry = failures.entry(ip).or_insert((0, std::time::Instant::now()));
            entry.0 = entry.0.saturating_add(1);
            entry.1 = std::time::Instant::now();
        }
    }

    /// The account check: the roles of `system_id` when `password` is its password, else
    /// `None` (an unknown system_id and a wrong password alike, in about the same time).
    /// Binds from an address with recent failures wait first.
    async fn authenticate(&self, peer: IpAddr, system_id: &str, pw: &str) -> Option<Vec<Role>> {
        let delay = self.bind_delay(peer);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let stored = match self.store.conn().await {
            Ok(mut conn) => crate::store::accounts::by_name(&mut conn, system_id).await,
            Err(e) => Err(e.into()),
        };
        let stored = match stored {
            Ok(a) => {
                a.filter(|a| a.disabled_at.is_none() && a.typed_roles().iter().any(|r| r.is_smpp()))
            }
            Err(err) => {
                tracing::error!(%err, "OSPP bind: accounts cannot be read");
                None
            }
        };
        let from_file = self
            .file_accounts
            .iter()
            .find(|(id, _)| id == system_id)
            .map(|(_, hash)| hash.clone());
        let (hash, roles) = match (stored, from_file) {
            (Some(_), Some(_)) => {
                tracing::error!(
                    system_id,
                    "OSPP bind refused: system_id is both in the store and in [ospp] accounts"
                );
                (None, Vec::new())
            }
            (Some(a), None) => {
                let roles = a
                    .typed_roles()
                    .into_iter()
                    .filter(|r| r.is_smpp())
                    .collect();
                (a.password_hash, roles)
            }
            (None, Some(h)) => (Some(h), vec![Role::Ivr, Role::OtapTool]),
            (None, None) => (None, Vec::new()),
        };
        let pw = pw.to_string();
        let ok = tokio::task::spawn_blocking(move || password::verify(hash.as_deref(), &pw))
            .await
            .unwrap_or(false);
        self.note_bind(peer, ok);
        ok.then_some(roles)
    }

    /// Runs a request's work in the handler's task (dropped if the handler is stopping).
    fn run_request(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let _ = self.work.send(Box::pin(work));
    }

    fn message_id(&self) -> String {
        format!("{:X}", self.next_message.fetch_add(1, Ordering::Relaxed))
    }

    /// A bind to send a reply to: `conn_id` itself when it receives, else another receiving
    /// bind of `system_id`.
    fn route(&self, conn_id: u64, system_id: &str) -> Option<mpsc::Sender<DeliverSm>> {
        let binds = self.binds();
        if let Some(b) = binds.get(&conn_id).filter(|b| b.receives) {
            return Some(b.out.clone());
        }
        binds
            .values()
            .find(|b| b.receives && b.system_id == system_id)
            .map(|b| b.out.clone())
    }

    /// Sends a reply on a receiving bind, waiting for one for up to `reply_wait`.
    async fn deliver(&self, conn_id: u64, system_id: &str, mut pdu: DeliverSm) -> bool {
        let give_up = tokio::time::Instant::now() + self.config.reply_wait;
        loop {
            if let Some(out) = self.route(conn_id, system_id) {
                match out.send(pdu).await {
                    Ok(()) => return true,
                    Err(e) => pdu = e.0,
                }
            }
            if tokio::time::Instant::now() >= give_up || *self.stop.borrow() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Accepts tools and runs their connections and their requests' work until `stop`; then says
/// so to the connections (`stopping`), and waits a little for them and for the requests.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut work: mpsc::UnboundedReceiver<RequestWork>,
    mut stop: watch::Receiver<bool>,
    stopping: watch::Sender<bool>,
) {
    let mut conns = JoinSet::new();
    let mut requests = JoinSet::new();
    let gate = ConnectionGate::new(
        shared.config.max_connections,
        shared.config.max_connections_per_source,
    );
    loop {
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => {
                match accepted {
                    Ok((tcp, peer)) => {
                        // Over a cap: closed at once.
                        let permit = match gate.admit(peer.ip()) {
                            Ok(p) => p,
                            Err(refused) => {
                                tracing::debug!(%peer, reason = refused.label(), "OSPP handler: connection refused");
                                continue;
                            }
                        };
                        let _ = tcp.set_nodelay(true);
                        let serve = connection::serve(tcp, peer, shared.clone(), shared.stop.clone());
                        conns.spawn(async move {
                            serve.await;
                            drop(permit);
                        });
                    }
                    Err(err) => {
                        tracing::warn!(%err, "OSPP handler: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            Some(request) = work.recv() => {
                requests.spawn(request);
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while conns.join_next().await.is_some() {}
        while requests.join_next().await.is_some() {}
    })
    .await;
    conns.abort_all();
    requests.abort_all();
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failed_binds_slow_down_then_cap() {
        assert_eq!(bind_delay_after(0), Duration::ZERO);
        assert_eq!(bind_delay_after(1), Duration::from_millis(250));
        assert_eq!(bind_delay_after(3), Duration::from_secs(1));
        assert_eq!(bind_delay_after(200), MAX_BIND_DELAY);
    }

    #[test]
    fn empty_passwords_and_repeated_system_ids_are_refused() {
        let account = |id: &str, pw: &str| OsppAccount {
            system_id: id.into(),
            password: pw.into(),
        };
        let mut c = OsppConfig {
            accounts: vec![account("ivr", "")],
            ..OsppConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("empty password"));
        c.accounts = vec![account("ivr", "a"), account("ivr", "b")];
        assert!(c.validate().unwrap_err().to_string().contains("twice"));
        c.accounts = vec![account("ivr", "a"), account("tool", "b")];
        assert!(c.validate().is_ok());
    }
}
