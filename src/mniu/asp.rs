//! The ASP side of an M3UA association (RFC 4666 §4.3): an async shell around the sans-IO
//! machine [`otagw_codecs::m3ua::asp_fsm`].
//!
//! One task per association: it connects (TCP or SCTP), feeds the machine what the peer sends
//! and the time, writes what the machine polls out, and acts on its events: the state goes to
//! [`Asp::state`] and the `otagw_m3ua_association_up` gauge, DATA to the TCAP layer, DUNA/DAVA
//! to [`Asp::is_unavailable`]. The machine brings the ASP up (ASPUP / ASPUP ACK) and active
//! (ASPAC with the routing context and traffic mode / ASPAC ACK), answers BEAT, sends its own
//! BEAT and declares the association lost when the peer stops answering; the shell then drops
//! the transport and reconnects with a growing back-off. On stop the ASP goes down with ASPDN.
//! A [`Linkset`] load-shares outgoing DATA over its active associations by SLS.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otagw_codecs::codec::Codec;
use otagw_codecs::m3ua::asp_fsm::{self, Event};
use otagw_codecs::m3ua::{Message, PointCode, ProtocolData, TrafficMode};
use thiserror::Error;
use tokio::sync::{mpsc, watch, Mutex};
use tokio::time::Instant;

use super::transport::{self, TransportError, TransportKind};
use crate::supervisor::{Stage, Task};
use crate::telemetry::names;
use crate::trace::{Direction as TraceDirection, Tracer};

/// At most this many queued DATA messages go out in one write.
const MAX_BATCH: usize = 64;

/// State of an association: the ASP state of RFC 4666 (`Down` also while there is no
/// transport association).
pub use otagw_codecs::m3ua::AspState;

/// Settings of one association.
#[derive(Debug, Clone)]
pub struct AspConfig {
    /// Name in logs and metrics.
    pub name: String,
    /// Transport.
    pub transport: TransportKind,
    /// The SG / STP.
    pub peer: SocketAddr,
    /// Routing context sent in ASPAC and DATA.
    pub routing_context: Option<u32>,
    /// Traffic mode requested in ASPAC.
    pub traffic_mode: TrafficMode,
    /// ASP identifier sent in ASPUP.
    pub asp_identifier: Option<u32>,
    /// Interval between our BEATs; the association is dropped after two unanswered.
    pub heartbeat: Duration,
    /// How long to wait for ASPUP ACK / ASPAC ACK (and ASPDN ACK on stop).
    pub handshake_timeout: Duration,
    /// Largest back-off between reconnection attempts.
    pub max_backoff: Duration,
    /// Where to record every message, if anywhere.
    pub trace: Option<Tracer>,
}

impl AspConfig {
    /// The machine's configuration.
    fn machine(&self) -> asp_fsm::Config {
        asp_fsm::Config {
            asp_identifier: self.asp_identifier,
            info_string: Some("otagw".into()),
            routing_context: self.routing_context.map(|rc| vec![rc]),
            traffic_mode: self.traffic_mode,
            ack_timeout: self.handshake_timeout,
            heartbeat: Some(self.heartbeat),
            max_unanswered_beats: 2,
        }
    }
}

/// Why DATA could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AspError {
    /// No association is active.
    #[error("no active M3UA association")]
    NotActive,
}

/// One association, as seen from outside the task.
#[derive(Debug, Clone)]
pub struct Asp {
    /// Its name.
    pub name: String,
    outbound: mpsc::Sender<ProtocolData>,
    state: watch::Receiver<AspState>,
    unavailable: Arc<Mutex<BTreeSet<u32>>>,
}

impl Asp {
    /// The association and its [`Task`] (for the supervisor): incoming DATA is delivered on
    /// `inbound`; it connects, runs and reconnects until its stop signal turns true, and then
    /// takes the association down with ASPDN.
    pub fn new(config: AspConfig, inbound: mpsc::Sender<ProtocolData>) -> (Self, Task) {
        let (outbound_tx, outbound_rx) = mpsc::channel(1024);
        let (state_tx, state_rx) = watch::channel(AspState::Down);
        let unavailable = Arc::new(Mutex::new(BTreeSet::new()));
        let asp = Self {
            name: config.name.clone(),
            outbound: outbound_tx,
            state: state_rx,
            unavailable: unavailable.clone(),
        };
        // What a restarted task takes over from the one before it.
        let outbound = Arc::new(Mutex::new(outbound_rx));
        let state = Arc::new(state_tx);
        let task = Task::new(format!("m3ua {}", config.name), Stage::Links, move |stop| {
            let shell = Shell {
                meters: Meters::new(&config.name),
                config: config.clone(),
                inbound: inbound.clone(),
                state: state.clone(),
                unavailable: unavailable.clone(),
            };
            let outbound = outbound.clone();
            async move {
                let mut outbound = outbound.lock().await;
                shell.run(&mut outbound, stop).await;
            }
        });
        (asp, task)
    }

    /// Current state.
    pub fn state(&self) -> AspState {
        *self.state.borrow()
    }

    /// Waits until the association is active (or `timeout`).
    pub async fn wait_active(&self, timeout: Duration) -> bool {
        let mut rx = self.state.clone();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s == AspState::Active))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Whether the SG said `pc` is unavailable (DUNA, not yet DAVA) on the current
    /// association.
    pub async fn is_unavailable(&self, pc: PointCode) -> bool {
        self.unavailable.lock().await.contains(&pc.value())
    }

    /// Queues DATA for the peer.
    pub async fn send(&self, data: ProtocolData) -> Result<(), AspError> {
        if self.state() != AspState::Active {
            return Err(AspError::NotActive);
        }
        self.outbound
            .send(data)
            .await
            .map_err(|_| AspError::NotActive)
    }
}

/// Associations towards the same signalling gateways, load-shared by SLS.
#[derive(Debug, Clone, Default)]
pub struct Linkset {
    asps: Vec<Asp>,
}

impl Linkset {
    /// A linkset over `asps`.
    pub fn new(asps: Vec<Asp>) -> Self {
        Self { asps }
    }

    /// The associations.
    pub fn asps(&self) -> &[Asp] {
        &self.asps
    }

    /// Sends on the active association the SLS selects.
    pub async fn send(&self, data: ProtocolData) -> Result<(), AspError> {
        let active: Vec<&Asp> = self
            .asps
            .iter()
            .filter(|a| a.state() == AspState::Active)
            .collect();
        if active.is_empty() {
            return Err(AspError::NotActive);
        }
        let pick = active[usize::from(data.sls) % active.len()];
        pick.send(data).await
    }

    /// Whether at least one association is active now.
    pub fn is_active(&self) -> bool {
        self.asps.iter().any(|a| a.state() == AspState::Active)
    }

    /// Waits until at least one association is active (or `timeout`).
    pub async fn wait_active(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.asps.iter().any(|a| a.state() == AspState::Active) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The association's metrics; DATA's counters are looked up once.
struct Meters {
    name: String,
    data_in: metrics::Counter,
    data_out: metrics::Counter,
}

impl Meters {
    fn new(name: &str) -> Self {
        let data = |direction: &'static str| {
            metrics::counter!(
                names::M3UA_MESSAGES,
                "asp" => name.to_string(),
                "direction" => direction,
                "message" => "DATA"
            )
        };
        Self {
            name: name.to_string(),
            data_in: data("in"),
            data_out: data("out"),
        }
    }

    /// One message `received` (else sent).
    fn count(&self, received: bool, message: &Message) {
        match (message, received) {
            (Message::Data(_), true) => self.data_in.increment(1),
            (Message::Data(_), false) => self.data_out.increment(1),
            _ => metrics::counter!(
                names::M3UA_MESSAGES,
                "asp" => self.name.clone(),
                "direction" => if received { "in" } else { "out" },
                "message" => message.name()
            )
            .increment(1),
        }
    }

    fn state(&self, state: AspState) {
        metrics::gauge!(names::M3UA_ASSOCIATION_UP, "asp" => self.name.clone())
            .set(if state == AspState::Active { 1.0 } else { 0.0 });
    }

    fn reconnect(&self) {
        metrics::counter!(names::M3UA_RECONNECTS, "asp" => self.name.clone()).increment(1);
    }
}

/// Why an association ended.
#[derive(Debug, Error)]
enum AssociationError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("cannot encode M3UA message: {0}")]
    Encode(String),
    #[error(transparent)]
    Lost(asp_fsm::Failure),
}

/// How an association ended without error.
enum Ended {
    /// Stopped (ASPDN sent).
    Stopped,
    /// Nobody takes incoming DATA or sends outgoing DATA any more.
    Abandoned,
}

/// What the task owns.
struct Shell {
    config: AspConfig,
    inbound: mpsc::Sender<ProtocolData>,
    state: Arc<watch::Sender<AspState>>,
    unavailable: Arc<Mutex<BTreeSet<u32>>>,
    meters: Meters,
}

impl Shell {
    /// Connects, runs the association, reconnects with back-off until stopped.
    async fn run(
        self,
        outbound: &mut mpsc::Receiver<ProtocolData>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut backoff = Duration::from_millis(100);
        loop {
            if *stop.borrow() {
                return;
            }
            let result = self.association(outbound, &mut stop).await;
            self.set_state(AspState::Down);
            match result {
                Ok(Ended::Stopped | Ended::Abandoned) => return,
                // Garbage from the peer: counted, and logged a few times a window only.
                Err(err @ AssociationError::Lost(asp_fsm::Failure::Undecodable(_))) => {
                    let name = &self.config.name;
                    super::garbage::global().note(super::garbage::Layer::M3ua, name, &err);
                }
                Err(err) => {
                    tracing::warn!(asp = %self.config.name, %err, retry_in = ?backoff, "M3UA association lost");
                }
            }
            if *stop.borrow() {
                return;
            }
            self.meters.reconnect();
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    fn set_state(&self, state: AspState) {
        let _ = self.state.send(state);
        self.meters.state(state);
    }

    /// One transport association, from connect to loss or stop.
    async fn association(
        &self,
        outbound: &mut mpsc::Receiver<ProtocolData>,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Ended, AssociationError> {
        let config = &self.config;
        let (mut tx, mut rx) = tokio::select! {
            connected = transport::connect(config.transport, config.peer) => connected?,
            _ = stop.wait_for(|s| *s) => return Ok(Ended::Stopped),
        };
        let mut machine = asp_fsm::Asp::new(config.machine());
        machine.connect(Instant::now().into_std());
        self.unavailable.lock().await.clear();
        let mut closing = false;
        let mut batch = Vec::new();
        let mut timer = Timer::new();
        loop {
            self.send(&mut machine, &mut tx, &mut batch).await?;
            while let Some(event) = machine.poll_event() {
                if let Some(ended) = self.on_event(event).await? {
                    return Ok(ended);
                }
            }
            if closing && machine.state() == AspState::Down {
                return Ok(Ended::Stopped);
            }
            let armed = timer.arm(machine.poll_timeout());
            let active = machine.state() == AspState::Active && !closing;
            tokio::select! {
                bytes = rx.recv() => {
                    let bytes = bytes?;
                    if let Some(trace) = &config.trace {
                        trace.m3ua(TraceDirection::Received, &bytes);
                    }
                    let now = Instant::now().into_std();
                    match Message::decode(&bytes) {
                        Ok(message) => {
                            self.meters.count(true, &message);
                            machine.handle_message(now, message);
                        }
                        Err(e) => machine.handle_undecodable(now, e),
                    }
                }
                data = outbound.recv(), if active => {
                    let Some(protocol_data) = data else { return Ok(Ended::Abandoned) };
                    // Refused only outside ASP-ACTIVE, which the guard excludes. What else is
                    // queued goes in the same write.
                    let _ = machine.send_data(protocol_data);
                    for _ in 1..MAX_BATCH {
                        let Ok(more) = outbound.try_recv() else { break };
                        let _ = machine.send_data(more);
                    }
                }
                _ = timer.fired(), if armed => {
                    machine.handle_timeout(Instant::now().into_std());
                }
                _ = stop.wait_for(|s| *s), if !closing => {
                    closing = true;
                    machine.close(Instant::now().into_std());
                }
            }
        }
    }

    /// Acts on one event of the machine; `Some` when the association ends here.
    async fn on_event(&self, event: Event) -> Result<Option<Ended>, AssociationError> {
        let name = &self.config.name;
        match event {
            Event::StateChanged(state) => {
                self.set_state(state);
                if state == AspState::Active {
                    tracing::info!(asp = %name, peer = %self.config.peer, "M3UA association active");
                }
            }
            Event::Data(protocol_data) => {
                if self.inbound.send(protocol_data).await.is_err() {
                    return Ok(Some(Ended::Abandoned));
                }
            }
            Event::DestinationUnavailable(list) => {
                let mut set = self.unavailable.lock().await;
                for apc in list {
                    tracing::warn!(asp = %name, pc = %apc.point_code, "destination unavailable (DUNA)");
                    set.insert(apc.point_code.value());
                }
            }
            Event::DestinationAvailable(list) => {
                let mut set = self.unavailable.lock().await;
                for apc in list {
                    tracing::info!(asp = %name, pc = %apc.point_code, "destination available (DAVA)");
                    set.remove(&apc.point_code.value());
                }
            }
            Event::Notify(n) => tracing::info!(
                asp = %name,
                status_type = n.status.status_type,
                status_info = n.status.status_info,
                "NTFY"
            ),
            Event::PeerError(e) => {
                tracing::warn!(asp = %name, code = e.error_code, "peer sent ERR")
            }
            Event::Discarded(message) => tracing::debug!(asp = %name, message, "ignored"),
            Event::Lost(failure) => return Err(AssociationError::Lost(failure)),
        }
        Ok(None)
    }

    /// Writes what the machine polled out, in one write.
    async fn send(
        &self,
        machine: &mut asp_fsm::Asp,
        tx: &mut transport::Sender,
        batch: &mut Vec<u8>,
    ) -> Result<(), AssociationError> {
        batch.clear();
        while let Some(message) = machine.poll_transmit() {
            let start = batch.len();
            Codec::encode(&message, batch).map_err(|e| {
                batch.truncate(start);
                AssociationError::Encode(e.to_string())
            })?;
            self.meters.count(false, &message);
            if let Some(trace) = &self.config.trace {
                trace.m3ua(TraceDirection::Sent, &batch[start..]);
            }
        }
        if !batch.is_empty() {
            tx.send_all(batch).await?;
        }
        Ok(())
    }
}

/// A machine's next deadline as one tokio timer, reset only when the deadline moves (the TCAP
/// driver uses it too).
#[derive(Debug)]
pub(super) struct Timer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
    at: Option<std::time::Instant>,
}

impl Timer {
    pub(super) fn new() -> Self {
        Self {
            sleep: Box::pin(tokio::time::sleep(Duration::ZERO)),
            at: None,
        }
    }

    /// Sets the deadline (`None`: none); true when there is one to wait for.
    pub(super) fn arm(&mut self, at: Option<std::time::Instant>) -> bool {
        if self.at != at {
            if let Some(at) = at {
                self.sleep.as_mut().reset(Instant::from_std(at));
            }
            self.at = at;
        }
        at.is_some()
    }

    /// The timer to await (only while [`Timer::arm`] said there is a deadline).
    pub(super) fn fired(&mut self) -> &mut std::pin::Pin<Box<tokio::time::Sleep>> {
        &mut self.sleep
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::supervisor::Supervisor;
    use otagw_codecs::m3ua::sgp_fsm::{self, Sgp};

    fn pd(user_data: &[u8]) -> ProtocolData {
        ProtocolData {
            opc: PointCode::from_parts(1, 1, 1),
            dpc: PointCode::from_parts(1, 1, 2),
            si: 3,
            ni: 2,
            mp: 0,
            sls: 0,
            user_data: user_data.to_vec(),
        }
    }

    /// The shell over a real socket against the SGP machine: up, DATA both ways, down with
    /// ASPDN on stop.
    #[tokio::test]
    async fn comes_up_carries_data_and_goes_down_with_aspdn() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = listener.local_addr().unwrap();
        let sg = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let (mut tx, mut rx) = transport::split_tcp(stream);
            let mut sgp = Sgp::new(sgp_fsm::Config::default());
            let mut seen = Vec::new();
            while let Ok(bytes) = rx.recv().await {
                let m = Message::decode(&bytes).unwrap();
                seen.push(m.name());
                sgp.handle_message(m);
                while let Some(event) = sgp.poll_event() {
                    if let sgp_fsm::Event::Data(mut data) = event {
                        data.user_data.reverse();
                        sgp.send_data(data).unwrap();
                    }
                }
                while let Some(m) = sgp.poll_transmit() {
                    tx.send(&m.encode().unwrap()).await.unwrap();
                }
            }
            seen
        });
        let (inbound_tx, mut inbound_rx) = mpsc::channel(8);
        let (asp, task) = Asp::new(
            AspConfig {
                name: "test".into(),
                transport: TransportKind::Tcp,
                peer,
                routing_context: Some(9),
                traffic_mode: TrafficMode::Loadshare,
                asp_identifier: Some(1),
                heartbeat: Duration::from_secs(30),
                handshake_timeout: Duration::from_secs(5),
                max_backoff: Duration::from_secs(1),
                trace: None,
            },
            inbound_tx,
        );
        let mut supervisor = Supervisor::new();
        supervisor.spawn(task);
        assert_eq!(asp.send(pd(b"early")).await, Err(AspError::NotActive));
        assert!(asp.wait_active(Duration::from_secs(5)).await);
        asp.send(pd(b"abc")).await.unwrap();
        let back = inbound_rx.recv().await.unwrap();
        assert_eq!(back.user_data, b"cba");
        supervisor.shutdown().await;
        assert_eq!(asp.state(), AspState::Down);
        assert_eq!(sg.await.unwrap(), ["ASPUP", "ASPAC", "DATA", "ASPDN"]);
    }
}
