//! The MNIU: the gateway's SS7 side. M3UA associations over TCP or kernel SCTP
//! ([`transport`], [`asp`]) carry ANSI SCCP and ANSI TCAP ([`tcap`], the transaction manager),
//! which carry the IS-725-A operations of ANSI-41 MAP ([`is725`]). [`sms_sender`] sends the
//! outbox's `ss7` rows (WAP pushes) straight to the serving MSC.

pub mod asp;
pub(crate) mod garbage;
pub mod is725;
pub mod sms_sender;
pub mod tcap;
pub mod transport;

use std::net::SocketAddr;
use std::time::Duration;

use otagw_codecs::m3ua::PointCode;
use serde::{Deserialize, Serialize};

use crate::setting::{self, InvalidSetting};
use is725::MscRoute;
use tcap::Endpoint;
use transport::TransportKind;

/// The SS7 section of the configuration (`[ss7]`): the M3UA associations, the OTAF's and the
/// HLR's addresses, the MSCs, the timers. Typed when the file is read;
/// [`Ss7Config::validate`] checks the ranges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Ss7Config {
    /// Whether the gateway connects to the SS7 network.
    pub enabled: bool,
    /// `tcp` or `sctp`.
    pub transport: TransportKind,
    /// Signalling gateways / STPs, one M3UA association each.
    #[serde(with = "crate::setting::addrs")]
    pub peers: Vec<SocketAddr>,
    /// M3UA routing context (0: none sent; see [`Ss7Config::m3ua_routing_context`]).
    pub routing_context: u32,
    /// The OTAF's point code (`network-cluster-member`).
    #[serde(with = "crate::setting::point_code")]
    pub point_code: PointCode,
    /// The OTAF's subsystem number.
    pub ssn: u8,
    /// The HLR's point code.
    #[serde(with = "crate::setting::point_code")]
    pub hlr_point_code: PointCode,
    /// The HLR's subsystem number.
    pub hlr_ssn: u8,
    /// TCAP invoke timer (`invoke_timeout_ms`).
    #[serde(rename = "invoke_timeout_ms", with = "crate::setting::millis")]
    pub invoke_timeout: Duration,
    /// M3UA heartbeat interval (`heartbeat_secs`).
    #[serde(rename = "heartbeat_secs", with = "crate::setting::secs")]
    pub heartbeat: Duration,
    /// Deadline of an SS7 session, renewed at each step (`session_timeout_secs`).
    #[serde(rename = "session_timeout_secs", with = "crate::setting::secs")]
    pub session_timeout: Duration,
    /// Program IOTA-capable handsets over SS7 too when they call in (star code). Off: such a
    /// handset is told to activate over IOTA instead.
    pub force_ss7: bool,
    /// The MSCs and the TRNs they allocate (`[[ss7.msc]]`).
    pub msc: Vec<MscRoute>,
}

impl Default for Ss7Config {
    fn default() -> Self {
        Self {
            enabled: false,
            transport: TransportKind::Tcp,
            peers: vec![SocketAddr::from(([127, 0, 0, 1], 2905))],
            routing_context: 0,
            point_code: PointCode::from_parts(1, 1, 1),
            ssn: 5,
            hlr_point_code: PointCode::from_parts(1, 1, 3),
            hlr_ssn: 6,
            invoke_timeout: Duration::from_millis(5000),
            heartbeat: Duration::from_secs(10),
            session_timeout: Duration::from_secs(300),
            force_ss7: true,
            msc: Vec::new(),
        }
    }
}

impl Ss7Config {
    /// The OTAF's endpoint.
    pub fn local(&self) -> Endpoint {
        Endpoint {
            point_code: self.point_code.value(),
            ssn: self.ssn,
        }
    }

    /// The HLR's endpoint.
    pub fn hlr(&self) -> Endpoint {
        Endpoint {
            point_code: self.hlr_point_code.value(),
            ssn: self.hlr_ssn,
        }
    }

    /// The routing context sent in M3UA messages, if any.
    pub fn m3ua_routing_context(&self) -> Option<u32> {
        (self.routing_context != 0).then_some(self.routing_context)
    }

    /// Checks the values the types allow but the MNIU does not take.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.enabled && self.peers.is_empty() {
            return Err(InvalidSetting::new(
                "ss7.peers",
                "SS7 is enabled but no peer is configured",
            ));
        }
        setting::millis_within("ss7.invoke_timeout_ms", self.invoke_timeout, 1..=600_000)?;
        setting::secs_within("ss7.heartbeat_secs", self.heartbeat, 1..=3600)?;
        setting::secs_within("ss7.session_timeout_secs", self.session_timeout, 1..=86_400)?;
        Ok(())
    }
}
