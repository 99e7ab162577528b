//! The programming plan engine: the IS-683 exchange of an OTASP session as a pure state machine.
//!
//! `step(state, event) -> (state, commands)`: no I/O, no clock. The call manager computes a
//! [`Programme`] (what to write: NAM blocks, PRL in one or both formats, the SPC) from the
//! profile; [`PlanState::new`] starts the plan; each [`Event`] (a reverse message, a timeout)
//! moves it on and yields [`Command`]s (send this forward message, finish with this outcome).
//! The engine does not know the bearer: IOTA and SS7 walk the same plan.
//!
//! The plan: Protocol Capability -> [Validation, when the handset answers "locked"] -> NAM
//! Download -> SSPR Download of the PRL in segments (the format chosen by the handset's
//! SSPR_P_REV; result 35 switches to the other format once) -> Commit. The OTAPA plan: OTAPA
//! start -> [Validate SPASM, when the handset sends RAND_OTAPA] -> SSPR Download -> Commit ->
//! OTAPA stop; a download that fails after the OTAPA start was accepted also sends the OTAPA
//! stop (so the handset leaves OTAPA mode) before it finishes with its cause, unless the
//! handset stopped answering. Every result code the
//! handset can return maps to retry, re-validate, switch format, or a failure [`Cause`]; every
//! path ends in [`Phase::Finished`].

use otagw_codecs::identity::Esn;
use otagw_codecs::is683::ReverseMessage;
use otagw_codecs::is683::{
    Feature, ForwardMessage, OtapaRequest, ProtocolCapabilityRequest, ResultCode, SpasmValidation,
    Spc, SsprDownloadRequest, ValidationBlock, ValidationRequest,
};
use otagw_codecs::spasm::{auth_otapa, SpasmKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How many times a step answered "rejected, reason unknown" is sent again before giving up.
pub(crate) const MAX_RETRIES: u8 = 2;

/// Largest SSPR Download segment: BLOCK_LEN is one octet and the segment header takes four.
pub const MAX_SEGMENT_SIZE: u8 = 251;

/// BLOCK_ID of an SSPR Download Request carrying a classic PRL.
pub(crate) const SSPR_BLOCK_PRL: u8 = 0;
/// BLOCK_ID of an SSPR Download Request carrying an extended PRL.
pub(crate) const SSPR_BLOCK_EXTENDED_PRL: u8 = 1;

/// PRL layout, as far as the plan is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PrlKind {
    /// SSPR_P_REV 1 (SSPR Download BLOCK_ID 0).
    Classic,
    /// SSPR_P_REV 3 (SSPR Download BLOCK_ID 1).
    Extended,
}

impl PrlKind {
    fn other(self) -> Self {
        match self {
            Self::Classic => Self::Extended,
            Self::Extended => Self::Classic,
        }
    }

    fn block_id(self) -> u8 {
        match self {
            Self::Classic => SSPR_BLOCK_PRL,
            Self::Extended => SSPR_BLOCK_EXTENDED_PRL,
        }
    }
}

/// What a session writes into the handset. Computed by the call manager from the profile and
/// the PRL library; kept in the session row so any instance can continue the session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Programme {
    /// The encoded IS-683 Download Request carrying the profile's NAM blocks; `None` when the
    /// profile defines none.
    pub nam_download: Option<Vec<u8>>,
    /// The profile's PRL as a classic PRL, if the library has it in that format.
    pub prl_classic: Option<Vec<u8>>,
    /// The profile's PRL as an extended PRL, if the library has it in that format.
    pub prl_extended: Option<Vec<u8>>,
    /// The service programming code, to unlock a locked handset.
    pub spc: Option<String>,
    /// Largest SSPR Download segment, in octets (1-251; the bearer decides).
    pub segment_size: u8,
    /// Which plan: a first activation, or an OTAPA PRL download.
    #[serde(default)]
    pub kind: PlanKind,
    /// SSPR_P_REV the profile says the device supports (used when no capability exchange runs).
    #[serde(default)]
    pub sspr_p_rev: Option<u8>,
    /// What answers a SPASM challenge (OTAPA on a protected NAM), when the profile has a key.
    #[serde(default)]
    pub spasm: Option<SpasmMaterial>,
}

/// What the plan needs to answer a RAND_OTAPA challenge (see `otagw_codecs::spasm`). Its
/// `Debug` form does not show the key; the session row keeps it (as hex) only until the
/// session ends ([`crate::store::sessions::scrub_secrets`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpasmMaterial {
    /// The subscriber's SPASM key.
    #[serde(with = "spasm_key_hex")]
    pub key: SpasmKey,
    /// The handset's ESN (its pseudo-ESN for a MEID handset), the other input of AUTH_OTAPA.
    pub esn: u32,
    /// NAM_LOCK sent with AUTH_OTAPA: whether the NAM stays protected after this session.
    pub keep_locked: bool,
}

/// Which plan a programme runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// OTASP activation: Protocol Capability -> [Validation] -> NAM Download -> SSPR Download ->
    /// Commit.
    #[default]
    Activation,
    /// OTAPA PRL download: OTAPA start -> [Validate SPASM] -> SSPR Download -> Commit -> OTAPA
    /// stop.
    PrlDownload,
}

/// A SPASM key in the session row: 16 hex digits.
mod spasm_key_hex {
    use otagw_codecs::spasm::SpasmKey;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(key: &SpasmKey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&key.to_hex())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SpasmKey, D::Error> {
        let hex = String::deserialize(d)?;
        hex.parse().map_err(serde::de::Error::custom)
    }
}

impl Programme {
    fn prl(&self, kind: PrlKind) -> Option<&[u8]> {
        match kind {
            PrlKind::Classic => self.prl_classic.as_deref(),
            PrlKind::Extended => self.prl_extended.as_deref(),
        }
    }

    fn has_prl(&self) -> bool {
        self.prl_classic.is_some() || self.prl_extended.is_some()
    }
}

/// Why a session failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "cause")]
pub enum Cause {
    /// No answer before the deadline.
    Timeout,
    /// The handset lacks a capability the programme needs (NAM download or SSPR).
    Unsupported {
        /// FEATURE_ID missing.
        feature_id: u8,
    },
    /// The handset rejected a NAM block.
    NamRejected {
        /// BLOCK_ID.
        block_id: u8,
        /// RESULT_CODE.
        result: u8,
    },
    /// The handset found the PRL's CRC wrong (result 9).
    PrlCrcError,
    /// The handset found the PRL's size wrong (result 8).
    PrlSizeMismatch,
    /// The handset takes neither PRL format the library has (result 35).
    PrlFormatUnavailable,
    /// The handset rejected a PRL segment for another reason.
    PrlRejected {
        /// RESULT_CODE.
        result: u8,
    },
    /// The handset rejected the Commit.
    CommitRejected {
        /// RESULT_CODE.
        result: u8,
    },
    /// The handset is locked and the profile has no SPC, or it stays locked after validation.
    MsLocked,
    /// The handset refused the OTAPA start.
    OtapaRejected {
        /// RESULT_CODE.
        result: u8,
    },
    /// The NAM is SPASM-locked (the OTAPA Response carried RAND_OTAPA) and the profile has no
    /// SPASM key to answer the challenge with.
    NamLocked,
    /// The handset refused AUTH_OTAPA (result 13, invalid SPASM) or the Validate SPASM block.
    SpasmRejected {
        /// RESULT_CODE.
        result: u8,
    },
    /// The handset refused the SPC.
    SpcRejected {
        /// RESULT_CODE.
        result: u8,
    },
    /// The programme itself could not be used (our own data is bad).
    BadProgramme {
        /// What is wrong.
        reason: String,
    },
    /// An operator cancelled the session before the handset called back (a PRL campaign
    /// cancelled; the shell reports this, not the plan).
    Cancelled,
    /// The bearer could not carry the exchange (the shell reports this, not the plan).
    Bearer {
        /// What kind of failure.
        failure: BearerFailure,
        /// Details.
        reason: String,
    },
}

/// How a bearer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BearerFailure {
    /// No signalling link (no active M3UA association).
    LinkDown,
    /// The network element did not answer in time.
    NoAnswer,
    /// The network element answered with an error, a reject or an abort.
    NetworkError,
    /// The handset's answer did not decode or did not answer the request.
    ProtocolError,
}

impl Cause {
    /// Short label for metrics and audit records.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unsupported { .. } => "unsupported",
            Self::NamRejected { .. } => "nam-rejected",
            Self::PrlCrcError => "prl-crc-error",
            Self::PrlSizeMismatch => "prl-size-mismatch",
            Self::PrlFormatUnavailable => "prl-format-unavailable",
            Self::PrlRejected { .. } => "prl-rejected",
            Self::CommitRejected { .. } => "commit-rejected",
            Self::MsLocked => "ms-locked",
            Self::SpcRejected { .. } => "spc-rejected",
            Self::OtapaRejected { .. } => "otapa-rejected",
            Self::NamLocked => "nam-locked",
            Self::SpasmRejected { .. } => "spasm-rejected",
            Self::BadProgramme { .. } => "bad-programme",
            Self::Cancelled => "cancelled",
            Self::Bearer { failure, .. } => match failure {
                BearerFailure::LinkDown => "link-down",
                BearerFailure::NoAnswer => "no-answer",
                BearerFailure::NetworkError => "network-error",
                BearerFailure::ProtocolError => "protocol-error",
            },
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("no answer before the deadline"),
            Self::Unsupported { feature_id } => {
                write!(f, "the handset does not support FEATURE_ID {feature_id}")
            }
            Self::NamRejected { block_id, result } => write!(
                f,
                "NAM block {block_id} rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::PrlCrcError => f.write_str("the handset found a PRL CRC error"),
            Self::PrlSizeMismatch => f.write_str("the handset found a PRL length mismatch"),
            Self::PrlFormatUnavailable => {
                f.write_str("the handset takes no PRL format the library has")
            }
            Self::PrlRejected { result } => write!(
                f,
                "PRL rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::CommitRejected { result } => write!(
                f,
                "commit rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::MsLocked => f.write_str("the handset is locked and no SPC unlocks it"),
            Self::OtapaRejected { result } => write!(
                f,
                "OTAPA start rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::NamLocked => {
                f.write_str("the NAM is SPASM-locked and the profile has no SPASM key")
            }
            Self::SpasmRejected { result } => write!(
                f,
                "SPASM validation rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::SpcRejected { result } => write!(
                f,
                "SPC rejected: {}",
                ResultCode::from(*result).description()
            ),
            Self::BadProgramme { reason } => write!(f, "bad programme: {reason}"),
            Self::Cancelled => {
                f.write_str("cancelled by an operator before the handset called back")
            }
            Self::Bearer { reason, .. } => f.write_str(reason),
        }
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Everything programmed and committed.
    Success,
    /// Stopped with a cause; nothing was committed unless the cause says so.
    Failure(Cause),
}

/// Where the plan stands: the request outstanding with the handset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub(crate) enum Phase {
    /// Nothing sent yet.
    Idle,
    /// Protocol Capability Request outstanding.
    Capability,
    /// Validation Request (Verify SPC) outstanding; `resume` is retried after it.
    Validation {
        /// The step to go back to.
        resume: Box<Phase>,
    },
    /// Validation Request (Validate SPASM, AUTH_OTAPA for this RAND_OTAPA) outstanding.
    SpasmValidation {
        /// The handset's challenge.
        rand_otapa: u32,
    },
    /// Download Request (NAM blocks) outstanding.
    NamDownload,
    /// SSPR Download Request outstanding for the segment at `offset`.
    SsprDownload {
        /// PRL format being sent.
        kind: PrlKind,
        /// Octet offset of the outstanding segment.
        offset: u16,
    },
    /// Commit Request outstanding.
    Commit,
    /// OTAPA Request (start) outstanding.
    OtapaStart,
    /// OTAPA Request (stop) outstanding: after an accepted Commit (`failure` none), or to
    /// close the OTAPA session of a download that failed (`failure` is the outcome).
    OtapaStop {
        /// Why the download failed, if it did.
        #[serde(default)]
        failure: Option<Cause>,
    },
    /// Ended.
    Finished(Outcome),
}

/// The state of one session's plan. Serialized into the session row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PlanState {
    /// What to write.
    pub programme: Programme,
    /// Where the plan stands.
    pub phase: Phase,
    /// PRL format the handset's SSPR_P_REV calls for (set from the capability response).
    pub prl_kind: Option<PrlKind>,
    /// Whether the PRL format was already switched once after result 35.
    pub switched_format: bool,
    /// Whether the SPC was already verified in this session.
    pub validated: bool,
    /// Retries of the outstanding step so far.
    pub attempts: u8,
    /// IS-683 messages exchanged, both directions.
    pub messages: u32,
    /// The handset accepted the OTAPA start and has not been sent the stop yet.
    #[serde(default)]
    pub otapa_open: bool,
}

/// Something that happened to a session.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Event {
    /// Begin: send the first request.
    Start,
    /// The handset answered.
    Response(ReverseMessage),
    /// The deadline passed.
    Timeout,
    /// The bearer lost the answer to the outstanding request (the link failed after the request
    /// left): send it again. An SSPR Download starts over from offset 0, because the handset
    /// may already hold the lost segment and would refuse it at the same offset.
    AnswerLost,
    /// The bearer cannot carry the exchange any more (no link, no answer after its retries, an
    /// answer that does not decode). The session ends with [`Cause::Bearer`], without an OTAPA
    /// stop (it could not reach the handset); with only the OTAPA stop outstanding, it ends
    /// with the outcome settled before the stop.
    BearerFailed {
        /// What kind of failure.
        failure: BearerFailure,
        /// Details, for the audit record.
        reason: String,
    },
    /// An operator cancelled the session before its handset called back (a PRL campaign
    /// cancelled).
    Cancelled,
}

/// What the engine asks its shell to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Send this IS-683 message to the handset.
    Send(ForwardMessage),
    /// Change the profile as the session's end calls for, in the same transaction as the
    /// session's final transition (it comes just before [`Command::Finish`]).
    Profile(ProfileChange),
    /// The session is over.
    Finish(Outcome),
}

/// What the end of a session changes in the subscriber's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileChange {
    /// An activation committed: the profile is activated (with the ESN it was activated with).
    Activate,
    /// A PRL download committed: the profile's pending PRL becomes its PRL.
    AdoptPendingPrl,
    /// A PRL download failed: the profile's pending PRL and call-back URL are cleared; its PRL
    /// stays as it was.
    DropPendingPrl,
}

impl PlanKind {
    /// The profile change a plan of this kind calls for when it ends with `outcome`.
    pub fn profile_change(self, outcome: &Outcome) -> Option<ProfileChange> {
        match (self, outcome) {
            (Self::Activation, Outcome::Success) => Some(ProfileChange::Activate),
            (Self::Activation, Outcome::Failure(_)) => None,
            (Self::PrlDownload, Outcome::Success) => Some(ProfileChange::AdoptPendingPrl),
            (Self::PrlDownload, Outcome::Failure(_)) => Some(ProfileChange::DropPendingPrl),
        }
    }
}

/// The outcome `commands` end the session with, if they do.
pub(crate) fn outcome_of(commands: &[Command]) -> Option<&Outcome> {
    commands.iter().find_map(|c| match c {
        Command::Finish(o) => Some(o),
        Command::Send(_) | Command::Profile(_) => None,
    })
}

/// An event the plan cannot accept. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StepError {
    /// The session has already ended.
    #[error("the session has already ended")]
    Ended,
    /// `Start` on a session that has started.
    #[error("the session has already started")]
    AlreadyStarted,
    /// The reverse message does not answer the outstanding request.
    #[error("{got} does not answer the outstanding {expected}")]
    Unexpected {
        /// What was outstanding.
        expected: String,
        /// What came.
        got: String,
    },
}

type Step = Result<(PlanState, Vec<Command>), StepError>;

impl PlanState {
    /// A plan for `programme`, not yet started.
    pub(crate) fn new(programme: Programme) -> Self {
        Self {
            programme,
            phase: Phase::Idle,
            prl_kind: None,
            switched_format: false,
            validated: false,
            attempts: 0,
            messages: 0,
            otapa_open: false,
        }
    }

    /// Whether the plan has ended.
    pub(crate) fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Finished(_))
    }

    /// A short name of the outstanding request, for errors and logs.
    pub(crate) fn outstanding(&self) -> &'static str {
        match &self.phase {
            Phase::Idle => "nothing",
            Phase::Capability => "Protocol Capability Request",
            Phase::Validation { .. } => "Validation Request",
            Phase::SpasmValidation { .. } => "Validation Request (Validate SPASM)",
            Phase::NamDownload => "Download Request",
            Phase::SsprDownload { .. } => "SSPR Download Request",
            Phase::Commit => "Commit Request",
            Phase::OtapaStart => "OTAPA Request (start)",
            Phase::OtapaStop { .. } => "OTAPA Request (stop)",
            Phase::Finished(_) => "nothing (ended)",
        }
    }
}

/// Advances the plan by one event.
pub(crate) fn step(state: &PlanState, event: Event) -> Step {
    if state.is_finished() {
        return Err(StepError::Ended);
    }
    let mut next = state.clone();
    match event {
        Event::Start => {
            if next.phase != Phase::Idle {
                return Err(StepError::AlreadyStarted);
            }
            match next.programme.kind {
                PlanKind::Activation => Ok(next.enter(Phase::Capability)),
                PlanKind::PrlDownload => Ok(next.enter(Phase::OtapaStart)),
            }
        }
        Event::Timeout => match &state.phase {
            // The outcome was settled before the stop: an unanswered stop does not change it.
            Phase::OtapaStop { failure } => {
                Ok(next.finish(failure.clone().map_or(Outcome::Success, Outcome::Failure)))
            }
            _ => Ok(next.fail(Cause::Timeout)),
        },
        Event::BearerFailed { failure, reason } => match &state.phase {
            // The outcome was settled before the stop: a stop that did not get through does
            // not change it.
            Phase::OtapaStop { failure } => {
                Ok(next.finish(failure.clone().map_or(Outcome::Success, Outcome::Failure)))
            }
            _ => Ok(next.finish(Outcome::Failure(Cause::Bearer { failure, reason }))),
        },
        Event::Cancelled => Ok(next.finish(Outcome::Failure(Cause::Cancelled))),
        Event::AnswerLost => match state.phase.clone() {
            Phase::Idle => Err(StepError::Unexpected {
                expected: "nothing".into(),
                got: "a lost answer".into(),
            }),
            Phase::SsprDownload { kind, .. } => {
                Ok(next.enter(Phase::SsprDownload { kind, offset: 0 }))
            }
            phase => Ok(next.enter(phase)),
        },
        Event::Response(message) => {
            let got = message.message_type().name().to_string();
            let unexpected = || StepError::Unexpected {
                expected: state.outstanding().to_string(),
                got: format!("{got} Response"),
            };
            next.messages += 1;
            match (&state.phase, message) {
                (Phase::Capability, ReverseMessage::ProtocolCapability(cap)) => {
                    Ok(next.on_capability(&cap.features))
                }
                (Phase::Validation { resume }, ReverseMessage::Validation(results)) => {
                    let result = results
                        .results
                        .iter()
                        .map(|r| u8::from(r.result))
                        .find(|r| *r != 0);
                    match result {
                        None if !results.results.is_empty() => {
                            next.validated = true;
                            next.attempts = 0;
                            Ok(next.enter((**resume).clone()))
                        }
                        None => Ok(next.fail(Cause::SpcRejected { result: 1 })),
                        Some(result) => Ok(next.fail(Cause::SpcRejected { result })),
                    }
                }
                (Phase::NamDownload, ReverseMessage::Download(results)) => {
                    let rejected = results
                        .results
                        .iter()
                        .find(|r| r.result != ResultCode::Accepted)
                        .map(|r| (r.block_id, r.result));
                    match rejected {
                        None => {
                            next.attempts = 0;
                            Ok(next.after_nam())
                        }
                        Some((block_id, result)) => Ok(next.on_rejection(
                            Phase::NamDownload,
                            result,
                            Cause::NamRejected {
                                block_id,
                                result: u8::from(result),
                            },
                        )),
                    }
                }
                (Phase::SsprDownload { kind, offset }, ReverseMessage::SsprDownload(resp)) => {
                    let (kind, offset) = (*kind, *offset);
                    let Some(prl) = state.programme.prl(kind) else {
                        return Ok(next.fail(Cause::BadProgramme {
                            reason: "the PRL being sent vanished from the programme".into(),
                        }));
                    };
                    let size = segment_len(prl, offset, state.programme.segment_size);
                    let echoes = resp.block_id == kind.block_id()
                        && resp.segment_offset == offset
                        && usize::from(resp.segment_size) == size;
                    if resp.result == ResultCode::Accepted {
                        if !echoes {
                            return Err(StepError::Unexpected {
                                expected: format!(
                                    "SSPR Download Response for BLOCK_ID {} offset {offset} size {size}",
                                    kind.block_id()
                                ),
                                got: format!(
                                    "one for BLOCK_ID {} offset {} size {}",
                                    resp.block_id, resp.segment_offset, resp.segment_size
                                ),
                            });
                        }
                        next.attempts = 0;
                        let end = usize::from(offset) + size;
                        if end >= prl.len() {
                            Ok(next.enter(Phase::Commit))
                        } else {
                            // end < prl.len() <= 65535, so it fits.
                            let end = u16::try_from(end).unwrap_or(u16::MAX);
                            Ok(next.enter(Phase::SsprDownload { kind, offset: end }))
                        }
                    } else {
                        let result = resp.result;
                        let cause = match result {
                            ResultCode::CrcError => Cause::PrlCrcError,
                            ResultCode::PrlLengthMismatch => Cause::PrlSizeMismatch,
                            other => Cause::PrlRejected {
                                result: u8::from(other),
                            },
                        };
                        if result == ResultCode::PrlFormatMismatch {
                            return Ok(next.switch_format(kind));
                        }
                        Ok(next.on_rejection(state.phase.clone(), result, cause))
                    }
                }
                (Phase::OtapaStart, ReverseMessage::Otapa(resp)) => {
                    if resp.result != ResultCode::Accepted {
                        return Ok(next.fail(Cause::OtapaRejected {
                            result: u8::from(resp.result),
                        }));
                    }
                    next.otapa_open = true;
                    match resp.rand_otapa {
                        Some(rand_otapa) => Ok(next.enter(Phase::SpasmValidation { rand_otapa })),
                        None => Ok(next.start_otapa_prl()),
                    }
                }
                (Phase::SpasmValidation { .. }, ReverseMessage::Validation(results)) => {
                    let refused = results
                        .results
                        .iter()
                        .map(|r| u8::from(r.result))
                        .find(|r| *r != 0);
                    match (refused, results.results.is_empty()) {
                        (None, false) => Ok(next.start_otapa_prl()),
                        (None, true) => Ok(next.fail(Cause::SpasmRejected { result: 1 })),
                        (Some(result), _) => Ok(next.fail(Cause::SpasmRejected { result })),
                    }
                }
                (Phase::OtapaStop { failure }, ReverseMessage::Otapa(_)) => {
                    // How the stop is answered changes nothing: after an accepted Commit the
                    // PRL is in; after a failure nothing was committed.
                    Ok(next.finish(failure.clone().map_or(Outcome::Success, Outcome::Failure)))
                }
                (Phase::Commit, ReverseMessage::Commit(result)) => {
                    if result == ResultCode::Accepted {
                        if next.programme.kind == PlanKind::PrlDownload {
                            next.otapa_open = false;
                            return Ok(next.enter(Phase::OtapaStop { failure: None }));
                        }
                        Ok(next.finish(Outcome::Success))
                    } else {
                        Ok(next.on_rejection(
                            Phase::Commit,
                            result,
                            Cause::CommitRejected {
                                result: u8::from(result),
                            },
                        ))
                    }
                }
                _ => Err(unexpected()),
            }
        }
    }
}

/// Octets of the segment at `offset`.
fn segment_len(prl: &[u8], offset: u16, segment_size: u8) -> usize {
    let left = prl.len().saturating_sub(usize::from(offset));
    left.min(usize::from(segment_size.max(1)))
}

impl PlanState {
    fn finish(mut self, outcome: Outcome) -> (Self, Vec<Command>) {
        self.phase = Phase::Finished(outcome.clone());
        let change = self.programme.kind.profile_change(&outcome);
        let commands = change
            .map(Command::Profile)
            .into_iter()
            .chain([Command::Finish(outcome)])
            .collect();
        (self, commands)
    }

    /// Ends the plan with `cause`; an open OTAPA session is closed with an OTAPA stop first
    /// (unless the handset stopped answering), so the handset leaves OTAPA mode.
    fn fail(mut self, cause: Cause) -> (Self, Vec<Command>) {
        if self.otapa_open && cause != Cause::Timeout {
            self.otapa_open = false;
            return self.enter(Phase::OtapaStop {
                failure: Some(cause),
            });
        }
        self.finish(Outcome::Failure(cause))
    }

    /// Makes `phase` outstanding and emits its request.
    fn enter(mut self, phase: Phase) -> (Self, Vec<Command>) {
        let message = match &phase {
            Phase::Idle | Phase::Finished(_) => return (self, Vec::new()),
            Phase::Capability => {
                ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None })
            }
            Phase::Validation { .. } => {
                let Some(spc) = self.programme.spc.as_deref() else {
                    return self.fail(Cause::MsLocked);
                };
                match Spc::new(spc) {
                    Ok(spc) => ForwardMessage::Validation(ValidationRequest {
                        blocks: vec![ValidationBlock::VerifySpc(spc)],
                    }),
                    Err(e) => {
                        return self.fail(Cause::BadProgramme {
                            reason: format!("SPC: {e}"),
                        })
                    }
                }
            }
            Phase::SpasmValidation { rand_otapa } => {
                let Some(spasm) = self.programme.spasm.as_ref() else {
                    return self.fail(Cause::NamLocked);
                };
                ForwardMessage::Validation(ValidationRequest {
                    blocks: vec![ValidationBlock::ValidateSpasm(SpasmValidation {
                        auth_otapa: Some(auth_otapa(&spasm.key, *rand_otapa, Esn::new(spasm.esn))),
                        nam_lock: spasm.keep_locked,
                    })],
                })
            }
            Phase::NamDownload => {
                let decoded = self
                    .programme
                    .nam_download
                    .as_deref()
                    .map(ForwardMessage::decode);
                match decoded {
                    Some(Ok(m @ ForwardMessage::Download(_))) => m,
                    Some(Ok(_)) | None => {
                        return self.fail(Cause::BadProgramme {
                            reason: "no NAM Download Request in the programme".into(),
                        })
                    }
                    Some(Err(e)) => {
                        return self.fail(Cause::BadProgramme {
                            reason: format!("NAM Download Request: {e}"),
                        })
                    }
                }
            }
            Phase::SsprDownload { kind, offset } => {
                let Some(prl) = self.programme.prl(*kind) else {
                    return self.fail(Cause::PrlFormatUnavailable);
                };
                let start = usize::from(*offset);
                let len = segment_len(prl, *offset, self.programme.segment_size);
                let data = prl.get(start..start + len).unwrap_or_default().to_vec();
                ForwardMessage::SsprDownload(SsprDownloadRequest {
                    block_id: kind.block_id(),
                    last_segment: start + len >= prl.len(),
                    segment_offset: *offset,
                    segment_data: data,
                    fresh: None,
                })
            }
            Phase::Commit => ForwardMessage::Commit,
            Phase::OtapaStart => ForwardMessage::Otapa(OtapaRequest { start: true }),
            Phase::OtapaStop { .. } => ForwardMessage::Otapa(OtapaRequest { start: false }),
        };
        self.phase = phase;
        self.messages += 1;
        (self, vec![Command::Send(message)])
    }

    /// OTAPA has started (and the NAM is open): send the PRL in the format the profile's
    /// SSPR_P_REV calls for, or the other one the library has.
    fn start_otapa_prl(mut self) -> (Self, Vec<Command>) {
        let wanted = match self.programme.sspr_p_rev {
            Some(rev) if rev >= 3 => PrlKind::Extended,
            _ => PrlKind::Classic,
        };
        let kind = if self.programme.prl(wanted).is_some() {
            wanted
        } else {
            wanted.other()
        };
        if self.programme.prl(kind).is_none() {
            return self.fail(Cause::PrlFormatUnavailable);
        }
        self.prl_kind = Some(kind);
        self.enter(Phase::SsprDownload { kind, offset: 0 })
    }

    fn on_capability(mut self, features: &[Feature]) -> (Self, Vec<Command>) {
        let feature = |id: u8| features.iter().find(|f| f.feature_id == id);
        if self.programme.nam_download.is_some() && feature(Feature::NAM_DOWNLOAD).is_none() {
            return self.fail(Cause::Unsupported {
                feature_id: Feature::NAM_DOWNLOAD,
            });
        }
        if self.programme.has_prl() {
            let Some(sspr) = feature(Feature::SSPR) else {
                return self.fail(Cause::Unsupported {
                    feature_id: Feature::SSPR,
                });
            };
            let wanted = if sspr.feature_p_rev >= 3 {
                PrlKind::Extended
            } else {
                PrlKind::Classic
            };
            // Send the format the handset asks for if we have it, else try the other one (the
            // handset answers 35 if it cannot take it).
            self.prl_kind = Some(if self.programme.prl(wanted).is_some() {
                wanted
            } else {
                wanted.other()
            });
        }
        self.after_capability()
    }

    fn after_capability(self) -> (Self, Vec<Command>) {
        if self.programme.nam_download.is_some() {
            self.enter(Phase::NamDownload)
        } else {
            self.after_nam()
        }
    }

    fn after_nam(self) -> (Self, Vec<Command>) {
        match self.prl_kind {
            Some(kind) => self.enter(Phase::SsprDownload { kind, offset: 0 }),
            None => self.enter(Phase::Commit),
        }
    }

    fn switch_format(mut self, from: PrlKind) -> (Self, Vec<Command>) {
        let to = from.other();
        if self.switched_format || self.programme.prl(to).is_none() {
            return self.fail(Cause::PrlFormatUnavailable);
        }
        self.switched_format = true;
        self.prl_kind = Some(to);
        self.attempts = 0;
        self.enter(Phase::SsprDownload {
            kind: to,
            offset: 0,
        })
    }

    /// A request was answered with a result other than "accepted".
    fn on_rejection(
        mut self,
        phase: Phase,
        result: ResultCode,
        cause: Cause,
    ) -> (Self, Vec<Command>) {
        match result {
            ResultCode::MobileLocked if !self.validated => self.enter(Phase::Validation {
                resume: Box::new(phase),
            }),
            ResultCode::MobileLocked => self.fail(Cause::MsLocked),
            ResultCode::RejectedUnknown if self.attempts < MAX_RETRIES => {
                self.attempts += 1;
                self.enter(phase)
            }
            _ => self.fail(cause),
        }
    }
}
