//! The simulated STP: an M3UA signalling gateway (SG side) over TCP that routes MTP3 user
//! messages between the ASPs connected to it (the gateway) and in-process network elements
//! ([`Element`]: the MSC and HLR simulators).
//!
//! Per association the STP drives the SGP side of M3UA from the codecs
//! ([`otagw_codecs::m3ua::sgp_fsm`], the machine that faces the gateway's ASP machine), which
//! answers the ASP state maintenance and traffic maintenance messages:
//!
//! | from the ASP | the STP answers |
//! |---|---|
//! | ASPUP | ASPUP ACK (ASP Identifier echoed); the ASP is then ASP-INACTIVE |
//! | ASPAC | ASPAC ACK (Traffic Mode Type and Routing Context echoed), then NTFY AS-ACTIVE; ERR Unexpected Message while ASP-DOWN, ERR Unsupported Traffic Mode Type for values other than 1-3 |
//! | ASPIA / ASPDN | ASPIA ACK / ASPDN ACK |
//! | BEAT | BEAT ACK with the same Heartbeat Data (in any state) |
//! | DAUD | DAVA for each affected point code the STP can reach, DUNA for the others |
//! | DATA | routed (below); ERR Unexpected Message unless the ASP is ASP-ACTIVE |
//! | ERR, NTFY, acks | nothing |
//! | a message that does not decode | ERR (Protocol Error, Missing Parameter, Invalid Parameter Value ..., with the message as Diagnostic Information) |
//! | an unknown class or type | ERR Unsupported Message Class / Type |
//! | a stream that cannot be framed (version not 1, impossible length) | ERR, then the association is closed |
//!
//! DATA towards an ASP carries the routing context of its ASPAC and goes only while it is
//! ASP-ACTIVE.
//!
//! Routing is on the Protocol Data DPC ([`Router`]): a registered element's point code goes to
//! that element, whose answers and new messages are routed the same way (so an MSC can talk to
//! an HLR); a point code learned from the OPC of DATA an association sent goes out on that
//! association (several associations for one point code share the load by SLS); anything else
//! is dropped and counted (and, with [`StpHandle::set_duna_on_unknown`], answered with DUNA).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use otagw_codecs::m3ua::sgp_fsm::{self, Event, Sgp};
use otagw_codecs::m3ua::{frame_len, AspState, Message, PointCode, ProtocolData};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify as TokioNotify};
use tokio::task::JoinHandle;

/// How many element hops one message may cause before the STP declares a routing loop.
pub const MAX_HOPS: usize = 32;

/// A simulated network element reachable through the STP at a point code.
pub trait Element: Send + Sync {
    /// Handles one MTP3 user message addressed to the element. Returns the messages it sends in
    /// turn (answers and new messages alike), each with its own OPC and DPC; the STP routes
    /// them.
    fn handle(&self, from: &ProtocolData) -> Vec<ProtocolData>;
}

/// Identifies one accepted M3UA association (a TCP connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssociationId(pub u64);

impl fmt::Display for AssociationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "association {}", self.0)
    }
}

/// Where a point code leads.
#[derive(Clone)]
pub enum Target {
    /// An in-process element.
    Element(Arc<dyn Element>),
    /// An ASP on this association.
    Association(AssociationId),
    /// Nowhere known.
    Unknown,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Element(_) => f.write_str("Element"),
            Self::Association(a) => write!(f, "Association({})", a.0),
            Self::Unknown => f.write_str("Unknown"),
        }
    }
}

/// What routing one message produced.
#[derive(Debug, Default)]
pub struct RouteOutcome {
    /// Messages to send out, each on its association.
    pub out: Vec<(AssociationId, ProtocolData)>,
    /// Messages whose DPC leads nowhere.
    pub unroutable: Vec<ProtocolData>,
    /// Messages dropped because they exceeded [`MAX_HOPS`] element hops (a routing loop).
    pub looped: usize,
}

/// The STP's routing table: elements by point code and the associations behind remote point
/// codes. Pure: no I/O.
#[derive(Default)]
pub struct Router {
    elements: HashMap<u32, Arc<dyn Element>>,
    remote: BTreeMap<u32, Vec<AssociationId>>,
}

impl fmt::Debug for Router {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut elements: Vec<_> = self.elements.keys().copied().collect();
        elements.sort_unstable();
        f.debug_struct("Router")
            .field("elements", &elements)
            .field("remote", &self.remote)
            .finish()
    }
}

impl Router {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) the element at point code `pc` (24 bits).
    pub fn add_element(&mut self, pc: impl Into<u32>, element: Arc<dyn Element>) {
        self.elements.insert(pc.into() & PointCode::MAX, element);
    }

    /// Removes the element at `pc`; true if there was one.
    pub fn remove_element(&mut self, pc: impl Into<u32>) -> bool {
        self.elements
            .remove(&(pc.into() & PointCode::MAX))
            .is_some()
    }

    /// Records that point code `pc` is reachable over `assoc` (learned from the OPC of DATA the
    /// association sent). Element point codes are never learned.
    pub fn learn(&mut self, pc: impl Into<u32>, assoc: AssociationId) {
        let pc = pc.into() & PointCode::MAX;
        if self.elements.contains_key(&pc) {
            return;
        }
        let list = self.remote.entry(pc).or_default();
        if let Err(at) = list.binary_search(&assoc) {
            list.insert(at, assoc);
        }
    }

    /// Forgets every route over `assoc` (it closed).
    pub fn forget(&mut self, assoc: AssociationId) {
        self.remote.retain(|_, list| {
            list.retain(|a| *a != assoc);
            !list.is_empty()
        });
    }

    /// The associations behind a remote point code, in order.
    pub fn associations_for(&self, pc: impl Into<u32>) -> Vec<AssociationId> {
        self.remote
            .get(&(pc.into() & PointCode::MAX))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether `pc` leads anywhere (an element or a remote ASP).
    pub fn reachable(&self, pc: impl Into<u32>) -> bool {
        let pc = pc.into() & PointCode::MAX;
        self.elements.contains_key(&pc) || self.remote.contains_key(&pc)
    }

    /// Where a message to `dpc` with this SLS goes: an element first, else one of the
    /// associations behind `dpc` chosen by SLS (load sharing).
    pub fn target(&self, dpc: u32, sls: u8) -> Target {
        if let Some(e) = self.elements.get(&dpc) {
            return Target::Element(Arc::clone(e));
        }
        match self.remote.get(&dpc) {
            Some(list) if !list.is_empty() => {
                Target::Association(list[usize::from(sls) % list.len()])
            }
            _ => Target::Unknown,
        }
    }

    /// Routes one message to completion: through elements (and the messages they send) until
    /// every result is bound for an association or unroutable.
    pub fn route(&self, pd: ProtocolData) -> RouteOutcome {
        route_with(|dpc, sls| self.target(dpc, sls), pd)
    }
}

/// Routes `pd` using `lookup` for each hop; elements are called without any lock held by the
/// caller's `lookup`.
fn route_with(lookup: impl Fn(u32, u8) -> Target, pd: ProtocolData) -> RouteOutcome {
    let mut outcome = RouteOutcome::default();
    let mut queue: VecDeque<(ProtocolData, usize)> = VecDeque::from([(pd, 0)]);
    while let Some((pd, hops)) = queue.pop_front() {
        match lookup(pd.dpc.value(), pd.sls) {
            Target::Element(e) => {
                if hops >= MAX_HOPS {
                    outcome.looped += 1;
                    continue;
                }
                for next in e.handle(&pd) {
                    queue.push_back((next, hops + 1));
                }
            }
            Target::Association(a) => outcome.out.push((a, pd)),
            Target::Unknown => outcome.unroutable.push(pd),
        }
    }
    outcome
}

/// A snapshot of the STP's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StpCounters {
    /// Associations accepted since start.
    pub associations_accepted: u64,
    /// Associations open now.
    pub associations_open: u64,
    /// DATA messages received from ASPs.
    pub data_in: u64,
    /// DATA messages sent to ASPs.
    pub data_out: u64,
    /// Messages dropped because their DPC leads nowhere.
    pub unknown_dpc: u64,
    /// Messages to ASPs dropped by [`StpHandle::set_drop_responses`].
    pub responses_dropped: u64,
    /// Messages dropped as routing loops.
    pub loops: u64,
    /// ERR messages sent to ASPs.
    pub errors_sent: u64,
}

/// A failure to start the STP.
#[derive(Debug, thiserror::Error)]
pub enum StpError {
    /// The listening socket could not be opened.
    #[error("STP: cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// What the writer task of an association is told.
enum Outgoing {
    Frame(Vec<u8>),
}

struct Association {
    tx: mpsc::UnboundedSender<Outgoing>,
    close: Arc<TokioNotify>,
    /// The SGP's view of the ASP on this association.
    sgp: Sgp,
}

impl Association {
    /// Writes what the machine polled out.
    fn flush(&mut self, counters: &Counters) {
        while let Some(m) = self.sgp.poll_transmit() {
            let Ok(frame) = m.encode() else { continue };
            let sent = self.tx.send(Outgoing::Frame(frame)).is_ok();
            match m {
                Message::Err(_) => bump(&counters.errors_sent),
                Message::Data(_) if sent => bump(&counters.data_out),
                _ => {}
            }
        }
    }
}

#[derive(Default)]
struct Counters {
    associations_accepted: AtomicU64,
    data_in: AtomicU64,
    data_out: AtomicU64,
    unknown_dpc: AtomicU64,
    responses_dropped: AtomicU64,
    loops: AtomicU64,
    errors_sent: AtomicU64,
}

struct Shared {
    router: Mutex<Router>,
    associations: Mutex<HashMap<AssociationId, Association>>,
    next_assoc: AtomicU64,
    counters: Counters,
    response_delay: Mutex<Duration>,
    drop_responses: AtomicBool,
    duna_on_unknown: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Shared {
    /// Runs `f` on the SGP machine of `assoc`, writes what it polls out and returns its events.
    fn with_sgp(&self, assoc: AssociationId, f: impl FnOnce(&mut Sgp)) -> Vec<Event> {
        let mut associations = lock(&self.associations);
        let Some(a) = associations.get_mut(&assoc) else {
            return Vec::new();
        };
        f(&mut a.sgp);
        a.flush(&self.counters);
        std::iter::from_fn(|| a.sgp.poll_event()).collect()
    }

    /// Routes one message and sends what comes out; `from` is the association it came in on.
    fn route(self: &Arc<Self>, pd: ProtocolData, from: Option<AssociationId>) {
        let outcome = route_with(|dpc, sls| lock(&self.router).target(dpc, sls), pd);
        self.counters
            .loops
            .fetch_add(outcome.looped as u64, Ordering::Relaxed);
        for pd in outcome.unroutable {
            bump(&self.counters.unknown_dpc);
            if let (Some(a), true) = (from, self.duna_on_unknown.load(Ordering::Relaxed)) {
                self.with_sgp(a, |sgp| sgp.destination_unavailable(pd.dpc, None));
            }
        }
        if outcome.out.is_empty() {
            return;
        }
        if self.drop_responses.load(Ordering::Relaxed) {
            self.counters
                .responses_dropped
                .fetch_add(outcome.out.len() as u64, Ordering::Relaxed);
            return;
        }
        let delay = *lock(&self.response_delay);
        if delay.is_zero() {
            for (a, pd) in outcome.out {
                self.send_data(a, pd);
            }
        } else {
            let shared = Arc::clone(self);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                for (a, pd) in outcome.out {
                    shared.send_data(a, pd);
                }
            });
        }
    }

    /// DATA to the ASP on `assoc` (dropped unless it is ASP-ACTIVE).
    fn send_data(&self, assoc: AssociationId, protocol_data: ProtocolData) {
        self.with_sgp(assoc, |sgp| {
            let _ = sgp.send_data(protocol_data);
        });
    }

    /// DUNA (`unavailable`) or DAVA for `pc` to every ASP-ACTIVE association.
    fn broadcast(&self, unavailable: bool, pc: PointCode) {
        for a in lock(&self.associations).values_mut() {
            if a.sgp.state() == AspState::Active {
                if unavailable {
                    a.sgp.destination_unavailable(pc, None);
                } else {
                    a.sgp.destination_available(pc, None);
                }
                a.flush(&self.counters);
            }
        }
    }
}

/// The STP simulator. Start it with [`Stp::start`].
#[derive(Debug)]
pub struct Stp;

impl Stp {
    /// Listens on `listen` (port 0 picks a free port) and serves M3UA associations until the
    /// handle is dropped or [`StpHandle::shutdown`] is called. Needs a tokio runtime.
    pub async fn start(listen: SocketAddr) -> Result<StpHandle, StpError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| StpError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StpError::Bind {
            addr: listen,
            source,
        })?;
        let shared = Arc::new(Shared {
            router: Mutex::new(Router::new()),
            associations: Mutex::new(HashMap::new()),
            next_assoc: AtomicU64::new(1),
            counters: Counters::default(),
            response_delay: Mutex::new(Duration::ZERO),
            drop_responses: AtomicBool::new(false),
            duna_on_unknown: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _peer)) = listener.accept().await else {
                    // Transient accept failures (out of descriptors ...): back off briefly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                accept_association(&accept_shared, stream);
            }
        });
        Ok(StpHandle {
            addr,
            shared,
            accept,
        })
    }
}

fn accept_association(shared: &Arc<Shared>, stream: TcpStream) {
    let id = AssociationId(shared.next_assoc.fetch_add(1, Ordering::Relaxed));
    bump(&shared.counters.associations_accepted);
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let close = Arc::new(TokioNotify::new());
    lock(&shared.associations).insert(
        id,
        Association {
            tx,
            close: Arc::clone(&close),
            sgp: Sgp::new(sgp_fsm::Config {
                info_string: Some("otagw-sim STP".into()),
            }),
        },
    );
    tokio::spawn(writer(wr, rx));
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        reader(&shared, id, rd, &close).await;
        lock(&shared.associations).remove(&id);
        lock(&shared.router).forget(id);
    });
}

/// Writes the association's frames; what is queued together goes in one write.
async fn writer(mut wr: OwnedWriteHalf, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    let mut batch = Vec::new();
    while let Some(Outgoing::Frame(frame)) = rx.recv().await {
        batch.clear();
        batch.extend_from_slice(&frame);
        while batch.len() < 65_536 {
            let Ok(Outgoing::Frame(more)) = rx.try_recv() else {
                break;
            };
            batch.extend_from_slice(&more);
        }
        if wr.write_all(&batch).await.is_err() {
            break;
        }
    }
    let _ = wr.shutdown().await;
}

async fn reader(
    shared: &Arc<Shared>,
    id: AssociationId,
    mut rd: OwnedReadHalf,
    close: &TokioNotify,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        loop {
            match frame_len(&buf) {
                Ok(Some(n)) if buf.len() >= n => {
                    let frame: Vec<u8> = buf.drain(..n).collect();
                    on_frame(shared, id, &frame);
                }
                Ok(_) => break,
                Err(e) => {
                    let head = buf.get(..8).unwrap_or(&buf);
                    shared.with_sgp(id, |sgp| sgp.handle_undecodable(&e, head));
                    // The stream cannot be resynchronised: give the writer a moment to flush
                    // the ERR, then close.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return;
                }
            }
        }
        tokio::select! {
            _ = close.notified() => return,
            r = rd.read(&mut chunk) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
        }
    }
}

/// One M3UA message from the ASP on `id`: through its SGP machine, then DATA routed and DAUD
/// answered from the routing table.
fn on_frame(shared: &Arc<Shared>, id: AssociationId, frame: &[u8]) {
    let events = match Message::decode(frame) {
        Ok(m) => shared.with_sgp(id, |sgp| sgp.handle_message(m)),
        Err(e) => shared.with_sgp(id, |sgp| sgp.handle_undecodable(&e, frame)),
    };
    for event in events {
        match event {
            Event::Data(pd) => {
                bump(&shared.counters.data_in);
                lock(&shared.router).learn(pd.opc, id);
                shared.route(pd, Some(id));
            }
            Event::Audit(d) => {
                for apc in d.affected_point_codes {
                    let up = lock(&shared.router).reachable(apc.point_code);
                    let rc = d.routing_context.clone();
                    shared.with_sgp(id, |sgp| {
                        if up {
                            sgp.destination_available(apc.point_code, rc);
                        } else {
                            sgp.destination_unavailable(apc.point_code, rc);
                        }
                    });
                }
            }
            Event::StateChanged(_) => {}
        }
    }
}

/// A running STP: its address, routing table, fault knobs and counters. Dropping it stops the
/// listener and closes every association.
pub struct StpHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl fmt::Debug for StpHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StpHandle")
            .field("addr", &self.addr)
            .field("counters", &self.counters())
            .finish()
    }
}

impl StpHandle {
    /// The address the STP listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Registers (or replaces) the element reachable at point code `pc`.
    pub fn add_element(&self, pc: impl Into<u32>, element: Arc<dyn Element>) {
        lock(&self.shared.router).add_element(pc, element);
    }

    /// Removes the element at `pc`; true if there was one.
    pub fn remove_element(&self, pc: impl Into<u32>) -> bool {
        lock(&self.shared.router).remove_element(pc)
    }

    /// The associations a remote point code was learned on.
    pub fn associations_for(&self, pc: impl Into<u32>) -> Vec<AssociationId> {
        lock(&self.shared.router).associations_for(pc)
    }

    /// Injects a message as if an element had sent it (e.g. an MSC-originated message that
    /// is not an answer) and routes it.
    pub fn inject(&self, pd: ProtocolData) {
        self.shared.route(pd, None);
    }

    /// Closes every current association (the ASPs see their TCP connection end).
    pub fn drop_associations(&self) {
        for a in lock(&self.shared.associations).values() {
            a.close.notify_one();
        }
    }

    /// Delays every message sent to an ASP by `delay` (zero: no delay).
    pub fn set_response_delay(&self, delay: Duration) {
        *lock(&self.shared.response_delay) = delay;
    }

    /// Drops (and counts) every DATA message bound for an ASP while `drop` is set.
    pub fn set_drop_responses(&self, drop: bool) {
        self.shared.drop_responses.store(drop, Ordering::Relaxed);
    }

    /// Whether a message whose DPC leads nowhere is answered with DUNA to the association it
    /// came from (default: no, it is only dropped and counted).
    pub fn set_duna_on_unknown(&self, duna: bool) {
        self.shared.duna_on_unknown.store(duna, Ordering::Relaxed);
    }

    /// Sends DUNA (destination unavailable) for `pc` to every active association.
    pub fn send_duna(&self, pc: PointCode) {
        self.shared.broadcast(true, pc);
    }

    /// Sends DAVA (destination available) for `pc` to every active association.
    pub fn send_dava(&self, pc: PointCode) {
        self.shared.broadcast(false, pc);
    }

    /// The counters now.
    pub fn counters(&self) -> StpCounters {
        let c = &self.shared.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StpCounters {
            associations_accepted: get(&c.associations_accepted),
            associations_open: lock(&self.shared.associations).len() as u64,
            data_in: get(&c.data_in),
            data_out: get(&c.data_out),
            unknown_dpc: get(&c.unknown_dpc),
            responses_dropped: get(&c.responses_dropped),
            loops: get(&c.loops),
            errors_sent: get(&c.errors_sent),
        }
    }

    /// Stops accepting and closes every association.
    pub fn shutdown(&self) {
        self.accept.abort();
        self.drop_associations();
    }
}

impl Drop for StpHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn pd(opc: u32, dpc: u32, sls: u8, tag: u8) -> ProtocolData {
        ProtocolData {
            opc: PointCode::new(opc).unwrap(),
            dpc: PointCode::new(dpc).unwrap(),
            si: 3,
            ni: 2,
            mp: 0,
            sls,
            user_data: vec![tag],
        }
    }

    /// Answers to the sender, with the payload incremented.
    struct Echo;
    impl Element for Echo {
        fn handle(&self, from: &ProtocolData) -> Vec<ProtocolData> {
            let mut r = pd(
                from.dpc.value(),
                from.opc.value(),
                from.sls,
                from.user_data[0] + 1,
            );
            r.user_data[0] = from.user_data[0].wrapping_add(1);
            vec![r]
        }
    }

    /// Forwards everything to another point code, then answers the sender when that one
    /// answers (like an MSC asking an HLR).
    struct Relay {
        me: u32,
        next: u32,
        client: u32,
    }
    impl Element for Relay {
        fn handle(&self, from: &ProtocolData) -> Vec<ProtocolData> {
            if from.opc.value() == self.next {
                vec![pd(self.me, self.client, 0, from.user_data[0])]
            } else {
                vec![pd(self.me, self.next, 0, from.user_data[0])]
            }
        }
    }

    /// Sends every message back to itself.
    struct Loop(u32);
    impl Element for Loop {
        fn handle(&self, _: &ProtocolData) -> Vec<ProtocolData> {
            vec![pd(self.0, self.0, 0, 0)]
        }
    }

    #[test]
    fn element_answers_go_to_the_learned_association() {
        let mut r = Router::new();
        r.add_element(0x010102u32, Arc::new(Echo));
        r.learn(0x010101u32, AssociationId(7));
        let o = r.route(pd(0x010101, 0x010102, 3, 10));
        assert_eq!(o.out.len(), 1);
        assert_eq!(o.out[0].0, AssociationId(7));
        assert_eq!(o.out[0].1.dpc.value(), 0x010101);
        assert_eq!(o.out[0].1.user_data, [11]);
        assert!(o.unroutable.is_empty());
    }

    #[test]
    fn loadshare_by_sls_and_forget() {
        let mut r = Router::new();
        r.learn(PointCode::from_parts(1, 1, 1), AssociationId(2));
        r.learn(PointCode::from_parts(1, 1, 1), AssociationId(1));
        r.learn(PointCode::from_parts(1, 1, 1), AssociationId(2));
        assert_eq!(
            r.associations_for(PointCode::from_parts(1, 1, 1)),
            [AssociationId(1), AssociationId(2)]
        );
        let pick = |r: &Router, sls| match r.target(0x010101, sls) {
            Target::Association(a) => a,
            t => panic!("{t:?}"),
        };
        assert_eq!(pick(&r, 0), AssociationId(1));
        assert_eq!(pick(&r, 1), AssociationId(2));
        assert_eq!(pick(&r, 5), AssociationId(2));
        r.forget(AssociationId(1));
        assert_eq!(pick(&r, 0), AssociationId(2));
        r.forget(AssociationId(2));
        assert!(matches!(r.target(0x010101, 0), Target::Unknown));
    }

    #[test]
    fn elements_talk_to_elements() {
        let mut r = Router::new();
        r.add_element(
            2u32,
            Arc::new(Relay {
                me: 2,
                next: 3,
                client: 1,
            }),
        );
        r.add_element(3u32, Arc::new(Echo));
        r.learn(1u32, AssociationId(1));
        let o = r.route(pd(1, 2, 0, 40));
        assert_eq!(o.out.len(), 1);
        assert_eq!(o.out[0].1.opc.value(), 2);
        assert_eq!(o.out[0].1.user_data, [41]);
    }

    #[test]
    fn unknown_dpc_and_loops_are_reported() {
        let mut r = Router::new();
        r.add_element(9u32, Arc::new(Loop(9)));
        let o = r.route(pd(1, 5, 0, 0));
        assert_eq!(o.unroutable.len(), 1);
        let o = r.route(pd(1, 9, 0, 0));
        assert_eq!(o.looped, 1);
        assert!(o.out.is_empty());
        // An element's point code is never learned as remote.
        r.learn(9u32, AssociationId(1));
        assert!(r.associations_for(9u32).is_empty());
    }
}
