//! A simulated SS7 network for IS-725-A: an STP that the gateway's M3UA ASP connects to (M3UA
//! over TCP), with an MSC and an HLR behind it.
//!
//! ```text
//!  gateway (OTAF)  --M3UA/TCP-->  STP  --+--> MSC (PC 1-1-2, SSN 8): handsets in OTASP calls
//!  PC 1-1-1, SSN 5                       +--> HLR (PC 1-1-3, SSN 6): subscribers, registrations
//! ```
//!
//! | module | what |
//! |---|---|
//! | [`stp`] | the STP: M3UA SG side per association, routing by DPC to elements or ASPs, fault knobs, counters |
//! | [`msc`] | the MSC: TRNs, the SMDPP attach/release (ActionCode 8 / 14), SMDPP relayed to simulated handsets, WAP pushes in SMDPP teleservice 4100 delivered to handsets registered for SMS, RegistrationNotification to the HLR |
//! | [`hlr`] | the HLR: SMSRequest (where is this MIN served), RegistrationNotification records |
//!
//! Elements speak ANSI SCCP (UDT, or XUDT for long data) routed on SSN, ANSI TCAP and ANSI-41
//! MAP, all built with `otagw_codecs`; answers swap the SCCP addresses and the MTP3 point codes
//! (SI 3, NI 2, same SLS) and come as UDT, or XUDT when the request was one or the data exceeds
//! 255 octets. Common to both elements: each Invoke of a Query or Conversation gets a
//! ReturnResult or ReturnError in a Response (dtid = the query's otid); a package that does not
//! decode but whose Query/Conversation transaction ID can be read gets an Abort (P-Abort cause 3,
//! or 1 for an unknown package type), anything else unreadable is dropped; a UDT for another SSN
//! gets a UDTS "unequipped user" when return on error is asked. `set_error_for` on either
//! element answers one operation with a fixed ReturnError.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use otagw_sim::handset::{Handset, HandsetConfig};
//! use otagw_sim::ss7::{Network, NetworkConfig};
//!
//! let network = Network::start(NetworkConfig::default()).await?;
//! let handset = Handset::new(HandsetConfig::new("1A2B3C4D".parse()?))?;
//! let trn = network.place_otasp_call(handset, "2125551234".parse()?);
//! println!("point the gateway's ASP at {}; TRN {trn}", network.stp().addr());
//!
//! // A handset that takes WAP pushes sent straight to the MSC (SMSRequest, then SMDPP 4100).
//! let mut pushes = network.register_for_sms("6195550101".parse()?, "1A2B3C4D".parse()?);
//! # Ok(())
//! # }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use otagw_codecs::ansi41::Mscid;
use otagw_codecs::identity::{Esn, Min};
use otagw_codecs::m3ua::PointCode;

use crate::handset::push::Deliveries;
use crate::handset::Handset;

pub mod hlr;
pub mod msc;
pub mod stp;
mod tcap_user;

pub use hlr::{Hlr, HlrConfig};
pub use msc::{CallState, Msc, MscConfig};
pub use stp::{Element, Stp, StpCounters, StpError, StpHandle};

/// Where the gateway (OTAF) is expected: point code 1-1-1.
pub const GATEWAY_POINT_CODE: PointCode = PointCode::from_parts(1, 1, 1);
/// The gateway's (OTAF's) subsystem number: 5 (ANSI-41 MAP).
pub const GATEWAY_SSN: u8 = 5;
/// The MSC's point code: 1-1-2.
pub const MSC_POINT_CODE: PointCode = PointCode::from_parts(1, 1, 2);
/// The MSC's subsystem number: 8.
pub const MSC_SSN: u8 = 8;
/// The HLR's point code: 1-1-3.
pub const HLR_POINT_CODE: PointCode = PointCode::from_parts(1, 1, 3);
/// The HLR's subsystem number: 6.
pub const HLR_SSN: u8 = 6;
/// The MSC's MSCID: market ID 1234, switch number 1.
pub const DEFAULT_MSCID: Mscid = Mscid {
    market_id: 1234,
    switch_number: 1,
};
/// The MSC's TRN prefix: TRNs are 5550001, 5550002 ...
pub const DEFAULT_TRN_PREFIX: &str = "555";
/// The MSC's SMS_Address (BCD digits), which the HLR returns for handsets it serves.
pub const DEFAULT_MSC_SMS_ADDRESS: &str = "5550000000";

/// What [`Network::start`] builds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Where the STP listens (default 127.0.0.1, any free port).
    pub listen: SocketAddr,
    /// The MSC.
    pub msc: MscConfig,
    /// The HLR.
    pub hlr: HlrConfig,
    /// Where the gateway (OTAF) is: not used for routing (the STP learns it from the OPC of
    /// its DATA), kept so tests and the CLI can say what to configure.
    pub gateway_point_code: PointCode,
    /// The gateway's SSN.
    pub gateway_ssn: u8,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            msc: MscConfig::default(),
            hlr: HlrConfig::default(),
            gateway_point_code: GATEWAY_POINT_CODE,
            gateway_ssn: GATEWAY_SSN,
        }
    }
}

/// A running network: the STP with one MSC and one HLR registered at their point codes.
#[derive(Debug)]
pub struct Network {
    config: NetworkConfig,
    stp: StpHandle,
    msc: Arc<Msc>,
    hlr: Arc<Hlr>,
}

impl Network {
    /// Starts the STP and registers the MSC and HLR. Needs a tokio runtime.
    pub async fn start(config: NetworkConfig) -> Result<Self, StpError> {
        let stp = Stp::start(config.listen).await?;
        let msc = Arc::new(Msc::new(config.msc.clone()));
        let hlr = Arc::new(Hlr::new(config.hlr));
        stp.add_element(config.msc.point_code, Arc::clone(&msc) as Arc<dyn Element>);
        stp.add_element(config.hlr.point_code, Arc::clone(&hlr) as Arc<dyn Element>);
        Ok(Self {
            config,
            stp,
            msc,
            hlr,
        })
    }

    /// The configuration it runs with (the STP's port as asked, see [`StpHandle::addr`]).
    pub fn config(&self) -> &NetworkConfig {
        &self.config
    }

    /// The STP.
    pub fn stp(&self) -> &StpHandle {
        &self.stp
    }

    /// The MSC.
    pub fn msc(&self) -> &Arc<Msc> {
        &self.msc
    }

    /// The HLR.
    pub fn hlr(&self) -> &Arc<Hlr> {
        &self.hlr
    }

    /// Places `handset` in an OTASP call at the MSC (see [`Msc::place_otasp_call`]) and makes
    /// it an HLR subscriber served by that MSC, so SMSRequest finds it. Returns the TRN.
    pub fn place_otasp_call(&self, handset: Handset, min: Min) -> String {
        let esn = handset.config().device.esn_or_pesn();
        self.hlr
            .add_subscriber(min.clone(), esn, self.config.msc.sms_address.clone());
        self.msc.place_otasp_call(handset, min)
    }

    /// Registers the handset with `min` and `esn` for SMS: the HLR answers SMSRequest for it
    /// with this MSC's SMS_Address, and the MSC delivers the WAP pushes sent to it (SMDPP
    /// teleservice 4100, by MIN and/or ESN; see [`Msc::attach_push`]) on the returned channel.
    pub fn register_for_sms(&self, min: Min, esn: Esn) -> Deliveries {
        self.hlr
            .add_subscriber(min.clone(), esn, self.config.msc.sms_address.clone());
        self.msc.attach_push_as(min, Some(esn))
    }
}

#[cfg(test)]
mod tests;
