//! The IS-725-A operations the OTAF uses, as async calls over the TCAP transaction manager:
//! attach the MSC serving a TRN, relay an IS-683 message in an SMDPP, locate a subscriber's
//! serving MSC through the HLR, deliver an SMS (a WAP push) in an SMDPP, release the TRN.
//!
//! The attach and the release are SMDPPs too, as TIA-41 with IS-725-A has them: ActionCode 8
//! "Attach MSC to OTAF" or 14 "Release TRN", the TemporaryReferenceNumber and ServiceIndicator
//! 1 (CDMA OTASP); the attach's ReturnResult carries the mobile's ElectronicSerialNumber (and
//! MEID), MobileStationMSID and the MSCID. OTASPRequest is the OTAF's operation towards the
//! HLR/AC for the A-key procedures, which otagw does not run.

use std::time::Duration;

use otagw_codecs::ansi41::{
    action_code, service_indicator, teleservice, Ansi41Parameters, Digits, Mscid, Msid,
    ReturnErrorCode, SmdppInvoke, SmdppResult, SmsRequest, SmsRequestResult,
};
use otagw_codecs::identity::{Esn, Meid, Min};
use otagw_codecs::m3ua::PointCode;
use otagw_codecs::tcap::Parameters;
use thiserror::Error;

use super::tcap::{Endpoint, InvokeOutcome, Tcap, TcapError};

/// SMS_TeleserviceIdentifier of an SMDPP carrying IS-683 (or an IS-725-A action): OTASP data is
/// no teleservice, its ServiceIndicator (CDMA OTASP / OTAPA) says what SMS_BearerData holds, and
/// the mandatory SMS_TeleserviceIdentifier says "not used" (0).
pub const IS683_TELESERVICE: u16 = teleservice::NOT_USED;

/// An MSC the gateway can reach, and the TRNs it hands out: one `[[ss7.msc]]` entry of the
/// configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MscRoute {
    /// Name in logs.
    pub name: String,
    /// Its ANSI point code.
    #[serde(with = "crate::setting::point_code")]
    pub point_code: PointCode,
    /// Its subsystem number (8 unless configured).
    #[serde(default = "MscRoute::default_ssn")]
    pub ssn: u8,
    /// TRNs starting with this prefix are allocated by this MSC.
    pub trn_prefix: String,
    /// The MSC's SMS_Address as the HLR reports it (to find it from an SMSRequest; for OTAPA
    /// over SS7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_address: Option<String>,
}

impl MscRoute {
    /// The subsystem number of an MSC unless configured.
    pub const DEFAULT_SSN: u8 = 8;

    fn default_ssn() -> u8 {
        Self::DEFAULT_SSN
    }

    /// Its signalling endpoint.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            point_code: self.point_code.value(),
            ssn: self.ssn,
        }
    }
}

/// Why an IS-725-A operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Is725Error {
    /// No configured MSC allocates this TRN.
    #[error("no MSC is configured for TRN {0}")]
    UnknownTrn(String),
    /// The peer answered with an ANSI-41 error.
    #[error("{operation}: {peer} answered ReturnError {error}")]
    ReturnError {
        /// Operation.
        operation: &'static str,
        /// Peer.
        peer: Endpoint,
        /// ANSI-41 error name (or code).
        error: String,
    },
    /// The peer rejected the component.
    #[error("{operation}: {peer} rejected it (problem {problem:#06x})")]
    Reject {
        /// Operation.
        operation: &'static str,
        /// Peer.
        peer: Endpoint,
        /// Reject problem (T1.114).
        problem: otagw_codecs::tcap::RejectProblem,
    },
    /// The peer aborted the transaction.
    #[error("{operation}: {peer} aborted the transaction ({})", abort_text(.cause.as_ref()))]
    Aborted {
        /// Operation.
        operation: &'static str,
        /// Peer.
        peer: Endpoint,
        /// Why, when the Abort said: a T1.114 P-Abort cause, or the peer's user information.
        cause: Option<otagw_codecs::tcap::AbortCause>,
    },
    /// The answer lacked what the operation needs or did not decode.
    #[error("{operation}: bad answer: {reason}")]
    BadAnswer {
        /// Operation.
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// TCAP / M3UA failure (timeout, no association).
    #[error(transparent)]
    Tcap(#[from] TcapError),
}

/// Words for an Abort's cause.
fn abort_text(cause: Option<&otagw_codecs::tcap::AbortCause>) -> String {
    use otagw_codecs::tcap::AbortCause;
    match cause {
        Some(AbortCause::Protocol(p)) => format!("P-Abort cause {p:?}"),
        Some(AbortCause::User(info)) => format!("user abort, {} octets of information", info.len()),
        None => "no cause given".to_string(),
    }
}

impl Is725Error {
    /// Short label for causes and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::UnknownTrn(_) => "unknown-trn",
            Self::ReturnError { .. } => "msc-return-error",
            Self::Reject { .. } => "msc-reject",
            Self::Aborted { .. } => "tcap-abort",
            Self::BadAnswer { .. } => "bad-answer",
            Self::Tcap(TcapError::Timeout(_)) => "tcap-timeout",
            Self::Tcap(TcapError::Link(_)) => "ss7-link-down",
            Self::Tcap(_) => "tcap-error",
        }
    }
}

/// What the MSC reported when it attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The MSC.
    pub msc: Endpoint,
    /// The TRN of the call (none for network-initiated OTAPA).
    pub trn: Option<String>,
    /// ESN (or pESN).
    pub esn: Option<Esn>,
    /// MEID.
    pub meid: Option<Meid>,
    /// MIN.
    pub min: Option<Min>,
    /// The serving MSC's MSCID, when it reported one.
    pub mscid: Option<Mscid>,
}

/// The OTAF's IS-725-A operations.
#[derive(Debug, Clone)]
pub struct Is725 {
    tcap: Tcap,
    mscs: Vec<MscRoute>,
    hlr: Endpoint,
    timer: Duration,
}

fn outcome<R: Ansi41Parameters>(
    operation: &'static str,
    peer: Endpoint,
    outcome: InvokeOutcome,
) -> Result<R, Is725Error> {
    match outcome {
        InvokeOutcome::Result(p) => {
            R::from_parameters(p.as_ref()).map_err(|e| Is725Error::BadAnswer {
                operation,
                reason: e.to_string(),
            })
        }
        InvokeOutcome::Error(code, _) => Err(Is725Error::ReturnError {
            operation,
            peer,
            error: ReturnErrorCode::from_code(code.code)
                .map(|c| c.name().to_string())
                .unwrap_or_else(|| format!("{:#04x}", code.code)),
        }),
        InvokeOutcome::Reject(problem) => Err(Is725Error::Reject {
            operation,
            peer,
            problem,
        }),
        InvokeOutcome::Abort(cause) => Err(Is725Error::Aborted {
            operation,
            peer,
            cause,
        }),
    }
}

impl Is725 {
    /// Operations over `tcap`, with these MSCs and HLR, and invoke timer `timer`.
    pub fn new(tcap: Tcap, mscs: Vec<MscRoute>, hlr: Endpoint, timer: Duration) -> Self {
        Self {
            tcap,
            mscs,
            hlr,
            timer,
        }
    }

    /// The MSC that allocates `trn` (longest matching prefix).
    pub fn msc_for_trn(&self, trn: &str) -> Result<Endpoint, Is725Error> {
        self.mscs
            .iter()
            .filter(|m| trn.starts_with(&m.trn_prefix))
            .max_by_key(|m| m.trn_prefix.len())
            .map(MscRoute::endpoint)
            .ok_or_else(|| Is725Error::UnknownTrn(trn.to_string()))
    }

    async fn call<P: Ansi41Parameters>(
        &self,
        peer: Endpoint,
        params: &P,
    ) -> Result<InvokeOutcome, Is725Error> {
        let parameters: Parameters = params.to_parameters().map_err(|e| Is725Error::BadAnswer {
            operation: P::OPERATION.name(),
            reason: format!("cannot encode the request: {e}"),
        })?;
        Ok(self
            .tcap
            .invoke(peer, P::OPERATION.code(), parameters, self.timer)
            .await?)
    }

    /// SMDPP "Attach MSC to OTAF" for `trn`: the MSC answers with the handset's identity
    /// (ESN / MEID, MobileStationMSID) and its MSCID.
    pub async fn attach_trn(&self, trn: &str) -> Result<Attached, Is725Error> {
        let msc = self.msc_for_trn(trn)?;
        let request = SmdppInvoke::otasp_action(
            action_code::ATTACH_MSC_TO_OTAF,
            Some(trn.to_string()),
            service_indicator::CDMA_OTASP,
        );
        let answer = self.call(msc, &request).await?;
        let result: SmdppResult = outcome(ATTACH, msc, answer)?;
        attached_from(msc, trn, result)
    }

    /// SMDPP carrying one IS-683 message to the handset attached at `msc`; returns the
    /// handset's IS-683 answer from the ReturnResult.
    pub async fn relay(
        &self,
        attached: &Attached,
        service_indicator: u8,
        is683: Vec<u8>,
    ) -> Result<Vec<u8>, Is725Error> {
        let mut invoke = SmdppInvoke::new(is683, IS683_TELESERVICE);
        invoke.service_indicator = Some(service_indicator);
        invoke.esn = attached.esn;
        invoke.meid = attached.meid;
        invoke.msid = attached.min.clone().map(Msid::Min);
        invoke.trn = attached.trn.clone();
        let answer = self.call(attached.msc, &invoke).await?;
        let result: SmdppResult = outcome("SMSDeliveryPointToPoint", attached.msc, answer)?;
        result.bearer_data.ok_or_else(|| Is725Error::BadAnswer {
            operation: "SMSDeliveryPointToPoint",
            reason: format!(
                "no SMS_BearerData in the result (SMS_CauseCode {:?})",
                result.cause_code
            ),
        })
    }

    /// SMDPP carrying one SMS (IS-637 bearer data of `teleservice`, e.g. 4100 for WAP) to the
    /// handset `attached` names; Ok when the MSC answers with a ReturnResult (it delivered it).
    pub async fn deliver_sms(
        &self,
        attached: &Attached,
        teleservice: u16,
        bearer_data: Vec<u8>,
    ) -> Result<(), Is725Error> {
        let mut invoke = SmdppInvoke::new(bearer_data, teleservice);
        invoke.esn = attached.esn;
        invoke.meid = attached.meid;
        invoke.msid = attached.min.clone().map(Msid::Min);
        let answer = self.call(attached.msc, &invoke).await?;
        let _: SmdppResult = outcome("SMSDeliveryPointToPoint", attached.msc, answer)?;
        Ok(())
    }

    /// SMDPP "Release TRN": the call ends and the handset restarts with what it committed.
    pub async fn release_trn(&self, attached: &Attached) -> Result<(), Is725Error> {
        let mut request = SmdppInvoke::otasp_action(
            action_code::RELEASE_TRN,
            attached.trn.clone(),
            service_indicator::CDMA_OTASP,
        );
        request.esn = attached.esn;
        request.meid = attached.meid;
        request.msid = attached.min.clone().map(Msid::Min);
        let answer = self.call(attached.msc, &request).await?;
        let _: SmdppResult = outcome(RELEASE, attached.msc, answer)?;
        Ok(())
    }

    /// The invoke timer of every operation.
    pub fn timer(&self) -> Duration {
        self.timer
    }

    /// The MSC serving `min`, found with an SMSRequest to the HLR, ready for SMDPPs (OTAPA).
    pub async fn locate_msc(
        &self,
        min: &Min,
        esn: Option<Esn>,
        meid: Option<Meid>,
    ) -> Result<Attached, Is725Error> {
        let address = self.locate(min, esn).await?;
        let msc = self
            .mscs
            .iter()
            .find(|m| m.sms_address.as_deref() == Some(address.digits.as_str()))
            .map(MscRoute::endpoint)
            .ok_or_else(|| Is725Error::BadAnswer {
                operation: "SMSRequest",
                reason: format!(
                    "the HLR names SMS_Address {}, which no configured MSC has (ss7.msc.sms_address)",
                    address.digits
                ),
            })?;
        Ok(Attached {
            msc,
            trn: None,
            esn,
            meid,
            min: Some(min.clone()),
            mscid: None,
        })
    }

    /// SMSRequest to the HLR: the SMS_Address of the MSC serving `min`.
    pub async fn locate(&self, min: &Min, esn: Option<Esn>) -> Result<Digits, Is725Error> {
        let request = SmsRequest {
            msid: Msid::Min(min.clone()),
            esn,
            meid: None,
            service_indicator: None,
            extra: Vec::new(),
        };
        let answer = self.call(self.hlr, &request).await?;
        let result: SmsRequestResult = outcome("SMSRequest", self.hlr, answer)?;
        result.sms_address.ok_or_else(|| Is725Error::BadAnswer {
            operation: "SMSRequest",
            reason: "no SMS_Address in the result".to_string(),
        })
    }
}

/// Name of the attach in errors: the SMDPP and its ActionCode.
const ATTACH: &str = "SMSDeliveryPointToPoint (Attach MSC to OTAF)";
/// Name of the release in errors.
const RELEASE: &str = "SMSDeliveryPointToPoint (Release TRN)";

/// What the MSC's answer to the attach says about the handset on call `trn`.
fn attached_from(msc: Endpoint, trn: &str, result: SmdppResult) -> Result<Attached, Is725Error> {
    if result.esn.is_none() && result.meid.is_none() {
        return Err(Is725Error::BadAnswer {
            operation: ATTACH,
            reason: "the MSC returned neither ESN nor MEID".to_string(),
        });
    }
    let min = match result.mobile_station_msid {
        Some(Msid::Min(min)) => Some(min),
        _ => None,
    };
    Ok(Attached {
        msc,
        trn: Some(trn.to_string()),
        esn: result.esn,
        meid: result.meid,
        min,
        mscid: result.mscid,
    })
}

/// IS-683 message length (SSPR Download header included) above which an SMDPP to `attached`
/// would no longer fit one SCCP UDT (255 octets of TCAP).
pub fn max_is683_in_udt(attached: &Attached) -> usize {
    use otagw_codecs::tcap::{Component, Package, TcapMessage};
    let fits = |len: usize| {
        let mut invoke = SmdppInvoke::new(vec![0; len], IS683_TELESERVICE);
        invoke.service_indicator = Some(service_indicator::CDMA_OTASP);
        invoke.esn = attached.esn;
        invoke.meid = attached.meid;
        invoke.msid = attached.min.clone().map(Msid::Min);
        invoke.trn = attached.trn.clone();
        let Ok(parameters) = invoke.to_parameters() else {
            return false;
        };
        let message = TcapMessage {
            package: Package::Query {
                with_permission: true,
                otid: [0xFF; 4],
            },
            components: vec![Component::Invoke {
                last: true,
                invoke_id: Some(1),
                correlation_id: None,
                operation: SmdppInvoke::OPERATION.code(),
                parameters: Some(parameters),
            }],
            dialogue: None,
        };
        message
            .encode()
            .is_ok_and(|b| b.len() <= otagw_codecs::sccp::MAX_UDT_DATA)
    };
    (1..=255).rev().find(|&len| fits(len)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn msc() -> Endpoint {
        Endpoint {
            point_code: 0x010102,
            ssn: 8,
        }
    }

    #[test]
    fn the_attach_result_names_the_handset() {
        let result = SmdppResult {
            esn: Some(Esn::new(0x1A2B3C4D)),
            mobile_station_msid: Some(Msid::Min("6195550101".parse().unwrap())),
            mscid: Some(Mscid {
                market_id: 1234,
                switch_number: 1,
            }),
            ..SmdppResult::default()
        };
        let a = attached_from(msc(), "5550001", result).unwrap();
        assert_eq!(a.trn.as_deref(), Some("5550001"));
        assert_eq!(a.esn, Some(Esn::new(0x1A2B3C4D)));
        assert_eq!(a.min.unwrap().as_str(), "6195550101");
        assert_eq!(a.mscid.unwrap().market_id, 1234);
    }

    #[test]
    fn an_attach_result_without_identity_is_a_bad_answer() {
        let e = attached_from(msc(), "5550001", SmdppResult::default()).unwrap_err();
        assert_eq!(e.label(), "bad-answer");
        assert!(e.to_string().contains("Attach MSC to OTAF"), "{e}");
    }
}
