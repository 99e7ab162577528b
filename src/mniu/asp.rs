//! The ASP side of an M3UA association, as an actor (RFC 4666 §4.3).
//!
//! One actor per association: it connects (TCP or SCTP), brings the ASP up (ASPUP / ASPUP ACK)
//! and active (ASPAC with the routing context and traffic mode / ASPAC ACK), then carries DATA
//! both ways, answers BEAT, sends its own BEAT and drops the association when the peer stops
//! answering, tracks DUNA/DAVA, and reconnects with a growing back-off whenever the association
//! is lost. A [`Linkset`] load-shares outgoing DATA over its active associations by SLS.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use otagw_codecs::m3ua::{
    AspActive, AspUp, Data, Heartbeat, Message, PointCode, ProtocolData, TrafficMode,
};
use thiserror::Error;
use tokio::sync::{mpsc, watch, Mutex};

use super::transport::{self, TransportError, TransportKind};
use crate::trace::{Direction as TraceDirection, Tracer};

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
    /// How long to wait for ASPUP ACK / ASPAC ACK.
    pub handshake_timeout: Duration,
    /// Largest back-off between reconnection attempts.
    pub max_backoff: Duration,
    /// Where to record every message, if anywhere.
    pub trace: Option<Tracer>,
}

/// State of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspState {
    /// No transport association.
    Down,
    /// Transport up, ASP not active.
    Inactive,
    /// Traffic can flow.
    Active,
}

/// Why DATA could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AspError {
    /// No association is active.
    #[error("no active M3UA association")]
    NotActive,
}

/// One association, as seen from outside the actor.
#[derive(Debug, Clone)]
pub struct Asp {
    /// Its name.
    pub name: String,
    outbound: mpsc::Sender<ProtocolData>,
    state: watch::Receiver<AspState>,
    unavailable: Arc<Mutex<BTreeSet<u32>>>,
}

impl Asp {
    /// Starts the actor. Incoming DATA is delivered on `inbound`; it stops when `stop` turns
    /// true.
    pub fn spawn(
        config: AspConfig,
        inbound: mpsc::Sender<ProtocolData>,
        stop: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (outbound_tx, outbound_rx) = mpsc::channel(1024);
        let (state_tx, state_rx) = watch::channel(AspState::Down);
        let unavailable = Arc::new(Mutex::new(BTreeSet::new()));
        let asp = Self {
            name: config.name.clone(),
            outbound: outbound_tx,
            state: state_rx,
            unavailable: unavailable.clone(),
        };
        let task = tokio::spawn(run(
            config,
            inbound,
            outbound_rx,
            state_tx,
            unavailable,
            stop,
        ));
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

    /// Whether the SG said `pc` is unavailable (DUNA, not yet DAVA).
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

fn gauge(name: &str, state: AspState) {
    metrics::gauge!("otagw_m3ua_association_up", "asp" => name.to_string())
        .set(if state == AspState::Active { 1.0 } else { 0.0 });
}

fn count(name: &str, direction: &'static str, message: &Message) {
    metrics::counter!(
        "otagw_m3ua_messages_total",
        "asp" => name.to_string(),
        "direction" => direction,
        "message" => message.name()
    )
    .increment(1);
}

async fn run(
    config: AspConfig,
    inbound: mpsc::Sender<ProtocolData>,
    mut outbound: mpsc::Receiver<ProtocolData>,
    state: watch::Sender<AspState>,
    unavailable: Arc<Mutex<BTreeSet<u32>>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if *stop.borrow() {
            return;
        }
        let result = tokio::select! {
            r = association(&config, &inbound, &mut outbound, &state, &unavailable) => r,
            _ = stop.wait_for(|s| *s) => return,
        };
        let _ = state.send(AspState::Down);
        gauge(&config.name, AspState::Down);
        match result {
            Ok(()) => backoff = Duration::from_millis(100),
            Err(err) => {
                tracing::warn!(asp = %config.name, %err, retry_in = ?backoff, "M3UA association lost");
            }
        }
        metrics::counter!("otagw_m3ua_reconnects_total", "asp" => config.name.clone()).increment(1);
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        backoff = (backoff * 2).min(config.max_backoff);
    }
}

/// Why an association ended.
#[derive(Debug, Error)]
enum AssociationError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error("undecodable M3UA message: {0}")]
    Decode(String),
    #[error("cannot encode M3UA message: {0}")]
    Encode(String),
    #[error("no {0} from the peer in time")]
    Timeout(&'static str),
    #[error("the peer sent ERR {0}")]
    PeerError(u32),
    #[error("heartbeat lost")]
    HeartbeatLost,
}

async fn send(
    tx: &mut transport::Sender,
    config: &AspConfig,
    message: &Message,
) -> Result<(), AssociationError> {
    let bytes = message
        .encode()
        .map_err(|e| AssociationError::Encode(e.to_string()))?;
    count(&config.name, "out", message);
    tx.send(&bytes).await?;
    if let Some(trace) = &config.trace {
        trace.m3ua(TraceDirection::Sent, &bytes);
    }
    Ok(())
}

async fn recv(
    rx: &mut transport::Receiver,
    config: &AspConfig,
) -> Result<Message, AssociationError> {
    let name = &config.name;
    let bytes = rx.recv().await?;
    if let Some(trace) = &config.trace {
        trace.m3ua(TraceDirection::Received, &bytes);
    }
    let message = Message::decode(&bytes).map_err(|e| AssociationError::Decode(e.to_string()))?;
    count(name, "in", &message);
    Ok(message)
}

/// Waits for the message `want` accepts, answering BEATs meanwhile.
async fn expect(
    tx: &mut transport::Sender,
    rx: &mut transport::Receiver,
    config: &AspConfig,
    what: &'static str,
    want: impl Fn(&Message) -> bool,
) -> Result<(), AssociationError> {
    let deadline = tokio::time::Instant::now() + config.handshake_timeout;
    loop {
        let message = tokio::time::timeout_at(deadline, recv(rx, config))
            .await
            .map_err(|_| AssociationError::Timeout(what))??;
        match message {
            m if want(&m) => return Ok(()),
            Message::Beat(hb) => send(tx, config, &Message::BeatAck(hb)).await?,
            Message::Err(e) => return Err(AssociationError::PeerError(e.error_code)),
            other => {
                tracing::debug!(asp = %config.name, message = other.name(), "ignored during handshake")
            }
        }
    }
}

async fn association(
    config: &AspConfig,
    inbound: &mpsc::Sender<ProtocolData>,
    outbound: &mut mpsc::Receiver<ProtocolData>,
    state: &watch::Sender<AspState>,
    unavailable: &Arc<Mutex<BTreeSet<u32>>>,
) -> Result<(), AssociationError> {
    let (mut tx, mut rx) = transport::connect(config.transport, config.peer).await?;
    let _ = state.send(AspState::Inactive);
    let routing_context = config.routing_context.map(|rc| vec![rc]);
    send(
        &mut tx,
        config,
        &Message::AspUp(AspUp {
            asp_identifier: config.asp_identifier,
            info_string: Some("otagw".into()),
            extra: Vec::new(),
        }),
    )
    .await?;
    expect(&mut tx, &mut rx, config, "ASPUP ACK", |m| {
        matches!(m, Message::AspUpAck(_))
    })
    .await?;
    send(
        &mut tx,
        config,
        &Message::AspAc(AspActive {
            traffic_mode: Some(config.traffic_mode),
            routing_context: routing_context.clone(),
            info_string: None,
            extra: Vec::new(),
        }),
    )
    .await?;
    expect(&mut tx, &mut rx, config, "ASPAC ACK", |m| {
        matches!(m, Message::AspAcAck(_))
    })
    .await?;
    let _ = state.send(AspState::Active);
    gauge(&config.name, AspState::Active);
    tracing::info!(asp = %config.name, peer = %config.peer, "M3UA association active");

    let mut beat = tokio::time::interval(config.heartbeat);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beat.tick().await;
    let mut unanswered = 0u32;
    let mut beat_seq = 0u32;
    loop {
        tokio::select! {
            message = recv(&mut rx, config) => match message? {
                Message::Data(data) => {
                    if inbound.send(data.protocol_data).await.is_err() {
                        return Ok(());
                    }
                }
                Message::Beat(hb) => send(&mut tx, config, &Message::BeatAck(hb)).await?,
                Message::BeatAck(_) => unanswered = 0,
                Message::Duna(d) => {
                    let mut set = unavailable.lock().await;
                    for apc in d.affected_point_codes {
                        tracing::warn!(asp = %config.name, pc = %apc.point_code, "destination unavailable (DUNA)");
                        set.insert(apc.point_code.value());
                    }
                }
                Message::Dava(d) => {
                    let mut set = unavailable.lock().await;
                    for apc in d.affected_point_codes {
                        tracing::info!(asp = %config.name, pc = %apc.point_code, "destination available (DAVA)");
                        set.remove(&apc.point_code.value());
                    }
                }
                Message::Ntfy(n) => tracing::info!(asp = %config.name, status_type = n.status.status_type, status_info = n.status.status_info, "NTFY"),
                Message::Err(e) => tracing::warn!(asp = %config.name, code = e.error_code, "peer sent ERR"),
                other => tracing::debug!(asp = %config.name, message = other.name(), "ignored"),
            },
            data = outbound.recv() => {
                let Some(protocol_data) = data else { return Ok(()) };
                let message = Message::Data(Data {
                    network_appearance: None,
                    routing_context: routing_context.clone(),
                    protocol_data,
                    correlation_id: None,
                    extra: Vec::new(),
                });
                send(&mut tx, config, &message).await?;
            }
            _ = beat.tick() => {
                if unanswered >= 2 {
                    return Err(AssociationError::HeartbeatLost);
                }
                unanswered += 1;
                beat_seq = beat_seq.wrapping_add(1);
                send(&mut tx, config, &Message::Beat(Heartbeat {
                    data: Some(beat_seq.to_be_bytes().to_vec()),
                    extra: Vec::new(),
                })).await?;
            }
        }
    }
}
