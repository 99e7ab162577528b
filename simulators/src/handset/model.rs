//! The handset's OTASP/OTAPA behaviour as a pure state machine: one IS-683 forward message in,
//! one reverse message out. No I/O, no clock.
//!
//! | request | the simulated handset answers |
//! |---|---|
//! | Protocol Capability | MOB_FIRM_REV, MOB_MODEL, features NAM download (0, P_REV 2), SSPR (2, SSPR_P_REV), SPL (3, 1), OTAPA (4, 1); band/mode octet: band classes 0 and 1, CDMA. With capability records asked for: an Extended Protocol Capability Response (the MEID record when the handset has a MEID) |
//! | Validation | Verify SPC: 0 and unlock when it matches, 11 otherwise; Change SPC: 0 when unlocked, 10 when locked; Validate SPASM: below; other blocks: 7 |
//! | Download | locked: 10 for every block; NAM blocks 0-3: kept in temporary storage, 0; other BLOCK_IDs: 7 |
//! | SSPR Download | locked: 10; classic PRL (BLOCK_ID 0) to SSPR_P_REV >= 3 or extended (1) to < 3: 35; a segment that does not follow on: 2; after the last segment: 8 when PR_LIST_SIZE disagrees, 9 on a PR_LIST_CRC error, else the PRL goes to temporary storage |
//! | Commit | locked: 10; else temporary NAM blocks and PRL become committed, 0 |
//! | OTAPA | start / stop: 0; start on a SPASM-protected NAM: NAM_LOCK_IND with a fresh RAND_OTAPA |
//! | Validation, Validate SPASM | outside OTAPA: 6; AUTH_OTAPA right for the outstanding RAND_OTAPA (or no challenge outstanding and no AUTH_OTAPA): 0, the NAM opens for this session and NAM_LOCK says whether it stays protected afterwards; else 13 |
//! | Download, SSPR Download, Commit during OTAPA on a protected NAM not yet opened by SPASM | 10 |
//! | Configuration | the committed NAM blocks asked for (those not held are left out) |
//! | anything else | RESULT_CODE 6 (message not expected in this mode) |
//!
//! [`Faults`] makes the handset misbehave in the ways a gateway must survive.

use std::collections::BTreeMap;

use otagw_codecs::identity::DeviceId;
use otagw_codecs::is683::{
    BlockResult, BlockResults, CdmaAnalogNamConfig, CdmaNamConfig, ConfigurationResponse,
    ConfiguredNamBlock, ConfiguredRawBlock, DownloadRequest, ExtendedProtocolCapabilityResponse,
    Feature, ForwardMessage, KeyGenerationResponse, NamConfigBlock, NamDownloadBlock,
    OtapaResponse, ProtocolCapabilityRequest, ProtocolCapabilityResponse, PuzlBlockResult,
    PuzlDownloadResponse, RawBlock, RawConfigurationResponse, ReAuthenticateResponse, ResultCode,
    ReverseMessage, SingleBlockResponse, SpasmValidation, Spc, SsprDownloadRequest,
    SsprDownloadResponse, SystemTagDownloadResponse, ValidationBlock, ValidationRequest,
};
use otagw_codecs::prl;
use otagw_codecs::prl::segment::Reassembler;
use otagw_codecs::spasm::{auth_otapa, SpasmKey};
use thiserror::Error;

/// OTASP_MOB_P_REV reported in an Extended Protocol Capability Response.
pub const OTASP_MOB_P_REV: u8 = 4;

/// The band/mode octet of the Protocol Capability Response: band class 0 and 1, CDMA.
pub const BAND_MODE: u8 =
    ProtocolCapabilityResponse::BAND_CLASS_0_CDMA | ProtocolCapabilityResponse::BAND_CLASS_1_CDMA;

/// MOB_P_REV reported in NAM blocks read back by a Configuration Request.
const MOB_P_REV: u8 = 6;

/// MAX_SID_NID reported in NAM blocks read back by a Configuration Request.
const MAX_SID_NID: u8 = 20;

/// Station class mark reported in NAM block 0 (dual mode, slotted, class III power).
const SCM: u8 = 0x6A;

/// Ways the handset can misbehave at the IS-683 level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Reject this NAM BLOCK_ID in Download Requests with this RESULT_CODE (the block is not
    /// stored).
    pub reject_nam_block: Option<(u8, u8)>,
    /// Flip a bit of every received PRL before checking it, so PR_LIST_CRC fails (result 9).
    pub corrupt_prl_crc: bool,
    /// Never accept the SPC: Verify SPC always gets result 11 and the handset stays locked.
    pub stay_locked: bool,
    /// Answer every Commit Request with this RESULT_CODE instead of committing.
    pub reject_commit: Option<u8>,
}

/// What the simulated handset is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandsetConfig {
    /// ESN or MEID.
    pub device: DeviceId,
    /// MOB_FIRM_REV: firmware revision.
    pub mob_firm_rev: u16,
    /// MOB_MODEL: manufacturer's model number.
    pub mob_model: u8,
    /// SSPR_P_REV: 1 takes classic PRLs (BLOCK_ID 0), 3 extended ones (BLOCK_ID 1).
    pub sspr_p_rev: u8,
    /// The service programming code, 6 digits.
    pub spc: String,
    /// Whether the service programming lock is engaged at power-up.
    pub locked: bool,
    /// The SPASM key the active NAM is protected with (NAM_LOCK set), if any. AUTH_OTAPA is
    /// computed with `otagw_codecs::spasm::auth_otapa`.
    pub spasm_key: Option<SpasmKey>,
    /// IS-683-level misbehaviour.
    pub faults: Faults,
}

impl HandsetConfig {
    /// An unlocked SSPR_P_REV 3 handset with SPC 000000, firmware 0x0100, model 0x2A and no
    /// faults.
    pub fn new(device: DeviceId) -> Self {
        Self {
            device,
            mob_firm_rev: 0x0100,
            mob_model: 0x2A,
            sspr_p_rev: 3,
            spc: "000000".to_owned(),
            locked: false,
            spasm_key: None,
            faults: Faults::default(),
        }
    }
}

/// A [`HandsetConfig`] that cannot describe a handset.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandsetConfigError {
    /// The SPC is not 6 decimal digits.
    #[error("SPC {0:?} is not 6 decimal digits")]
    BadSpc(String),
    /// SSPR_P_REV outside 1..=3.
    #[error("SSPR_P_REV {0} is not 1, 2 or 3")]
    BadSsprPRev(u8),
}

/// A PRL kept by the handset, with the BLOCK_ID it was downloaded under (0 classic,
/// 1 extended).
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredPrl {
    block_id: u8,
    octets: Vec<u8>,
}

/// A PRL being received segment by segment.
#[derive(Debug, Clone)]
struct PrlReception {
    block_id: u8,
    reassembler: Reassembler,
}

/// A simulated CDMA handset: NAM and PRL storage, the programming lock and its answers to
/// IS-683 requests.
#[derive(Debug, Clone)]
pub struct Handset {
    cfg: HandsetConfig,
    spc: Spc,
    locked: bool,
    otapa_active: bool,
    /// NAM_LOCK: the active NAM is SPASM-protected (kept across reboots, like the NAM).
    nam_lock: bool,
    /// The RAND_OTAPA sent at this OTAPA session's start, until AUTH_OTAPA answers it.
    challenge: Option<u32>,
    /// SPASM validated in this OTAPA session: the protected NAM takes downloads.
    spasm_open: bool,
    temporary_nam: BTreeMap<u8, NamDownloadBlock>,
    committed_nam: BTreeMap<u8, NamDownloadBlock>,
    receiving_prl: Option<PrlReception>,
    temporary_prl: Option<StoredPrl>,
    committed_prl: Option<StoredPrl>,
    reboots: u32,
    handled: u64,
}

impl Handset {
    /// A powered-up handset with empty storage, locked when `cfg.locked`.
    pub fn new(cfg: HandsetConfig) -> Result<Self, HandsetConfigError> {
        let spc = Spc::new(&cfg.spc).map_err(|_| HandsetConfigError::BadSpc(cfg.spc.clone()))?;
        if !(1..=3).contains(&cfg.sspr_p_rev) {
            return Err(HandsetConfigError::BadSsprPRev(cfg.sspr_p_rev));
        }
        Ok(Self {
            locked: cfg.locked,
            nam_lock: cfg.spasm_key.is_some(),
            spc,
            cfg,
            otapa_active: false,
            challenge: None,
            spasm_open: false,
            temporary_nam: BTreeMap::new(),
            committed_nam: BTreeMap::new(),
            receiving_prl: None,
            temporary_prl: None,
            committed_prl: None,
            reboots: 0,
            handled: 0,
        })
    }

    /// The configuration the handset was built with.
    pub fn config(&self) -> &HandsetConfig {
        &self.cfg
    }

    /// Answers one IS-683 forward message.
    pub fn handle(&mut self, msg: &ForwardMessage) -> ReverseMessage {
        self.handled += 1;
        let not_expected = ResultCode::MessageNotExpected;
        match msg {
            ForwardMessage::ProtocolCapability(req) => self.protocol_capability(req),
            ForwardMessage::Validation(req) => ReverseMessage::Validation(self.validation(req)),
            ForwardMessage::Download(req) => ReverseMessage::Download(self.download(req)),
            ForwardMessage::SsprDownload(req) => {
                ReverseMessage::SsprDownload(self.sspr_download(req))
            }
            ForwardMessage::Commit => ReverseMessage::Commit(self.commit()),
            ForwardMessage::Otapa(req) => {
                self.otapa_active = req.start;
                self.spasm_open = false;
                self.challenge = (req.start && self.nam_lock).then(|| self.rand_otapa());
                ReverseMessage::Otapa(OtapaResponse {
                    result: ResultCode::Accepted,
                    rand_otapa: self.challenge,
                })
            }
            ForwardMessage::Configuration(ids) => {
                ReverseMessage::Configuration(self.configuration(&ids.block_ids))
            }
            ForwardMessage::MsKey(_) => ReverseMessage::MsKey(not_expected),
            ForwardMessage::KeyGeneration(_) => {
                ReverseMessage::KeyGeneration(KeyGenerationResponse {
                    result: not_expected,
                    ms_result: Vec::new(),
                })
            }
            ForwardMessage::ReAuthenticate(req) => {
                // No RESULT_CODE in this response: answer with an empty signature.
                ReverseMessage::ReAuthenticate(ReAuthenticateResponse {
                    authr: 0,
                    randc: (req.rand >> 24) as u8,
                    count: 0,
                    auth_data: 0,
                })
            }
            ForwardMessage::SsprConfiguration(req) => {
                ReverseMessage::SsprConfiguration(single_block(req.block_id))
            }
            ForwardMessage::PuzlConfiguration(req) => {
                ReverseMessage::PuzlConfiguration(single_block(req.block_id))
            }
            ForwardMessage::SystemTagConfiguration(req) => {
                ReverseMessage::SystemTagConfiguration(single_block(req.block_id))
            }
            ForwardMessage::PuzlDownload(req) => {
                ReverseMessage::PuzlDownload(PuzlDownloadResponse {
                    blocks: req
                        .blocks
                        .iter()
                        .map(|b| PuzlBlockResult {
                            block_id: b.block_id,
                            result: not_expected,
                            user_zone: None,
                        })
                        .collect(),
                })
            }
            ForwardMessage::ThreeGpdDownload(req) => {
                ReverseMessage::ThreeGpdDownload(raw_block_results(&req.blocks))
            }
            ForwardMessage::MmdDownload(req) => {
                ReverseMessage::MmdDownload(raw_block_results(&req.blocks))
            }
            ForwardMessage::MmsDownload(req) => {
                ReverseMessage::MmsDownload(raw_block_results(&req.blocks))
            }
            ForwardMessage::ThreeGpdConfiguration(ids) => {
                ReverseMessage::ThreeGpdConfiguration(raw_configuration(&ids.block_ids))
            }
            ForwardMessage::MmdConfiguration(ids) => {
                ReverseMessage::MmdConfiguration(raw_configuration(&ids.block_ids))
            }
            ForwardMessage::MmsConfiguration(ids) => {
                ReverseMessage::MmsConfiguration(raw_configuration(&ids.block_ids))
            }
            ForwardMessage::SecureMode(_) => ReverseMessage::SecureMode(not_expected),
            ForwardMessage::SystemTagDownload(req) => {
                ReverseMessage::SystemTagDownload(SystemTagDownloadResponse {
                    block_id: req.block.block_id,
                    result: not_expected,
                    segment: None,
                })
            }
            ForwardMessage::ServiceKeyGeneration(_) => {
                ReverseMessage::ServiceKeyGeneration(not_expected)
            }
        }
    }

    /// Restarts the handset: temporary storage and any PRL in reception are lost, the
    /// programming lock re-engages if the configuration has it, committed storage stays.
    pub fn reboot(&mut self) {
        self.temporary_nam.clear();
        self.temporary_prl = None;
        self.receiving_prl = None;
        self.otapa_active = false;
        self.challenge = None;
        self.spasm_open = false;
        self.locked = self.cfg.locked;
        self.reboots += 1;
    }

    /// The committed NAM parameter blocks, by BLOCK_ID.
    pub fn committed_nam(&self) -> &BTreeMap<u8, NamDownloadBlock> {
        &self.committed_nam
    }

    /// The NAM parameter blocks downloaded but not yet committed, by BLOCK_ID.
    pub fn temporary_nam(&self) -> &BTreeMap<u8, NamDownloadBlock> {
        &self.temporary_nam
    }

    /// The committed PRL, if any.
    pub fn committed_prl(&self) -> Option<&[u8]> {
        self.committed_prl.as_ref().map(|p| p.octets.as_slice())
    }

    /// The BLOCK_ID (0 classic, 1 extended) the committed PRL was downloaded under.
    pub fn committed_prl_block_id(&self) -> Option<u8> {
        self.committed_prl.as_ref().map(|p| p.block_id)
    }

    /// The PRL downloaded and checked but not yet committed, if any.
    pub fn temporary_prl(&self) -> Option<&[u8]> {
        self.temporary_prl.as_ref().map(|p| p.octets.as_slice())
    }

    /// How many times the handset has rebooted.
    pub fn reboots(&self) -> u32 {
        self.reboots
    }

    /// Whether the service programming lock is engaged now.
    pub fn is_locked(&self) -> bool {
        self.locked
    }

    /// Whether the active NAM is SPASM-protected (NAM_LOCK).
    pub fn nam_locked(&self) -> bool {
        self.nam_lock
    }

    /// Whether an OTAPA session is open (started and not stopped).
    pub fn otapa_active(&self) -> bool {
        self.otapa_active
    }

    /// The SPC now held (changed by a Change SPC block).
    pub fn spc(&self) -> String {
        self.spc.digits()
    }

    /// How many forward messages the handset has answered.
    pub fn messages_handled(&self) -> u64 {
        self.handled
    }

    fn features(&self) -> Vec<Feature> {
        let f = |feature_id, feature_p_rev| Feature {
            feature_id,
            feature_p_rev,
        };
        vec![
            f(Feature::NAM_DOWNLOAD, 2),
            f(Feature::SSPR, self.cfg.sspr_p_rev),
            f(Feature::SPL, 1),
            f(Feature::OTAPA, 1),
        ]
    }

    fn protocol_capability(&self, req: &ProtocolCapabilityRequest) -> ReverseMessage {
        match &req.query {
            None => ReverseMessage::ProtocolCapability(ProtocolCapabilityResponse {
                mob_firm_rev: self.cfg.mob_firm_rev,
                mob_model: self.cfg.mob_model,
                features: self.features(),
                additional_fields: vec![BAND_MODE],
            }),
            Some(query) => {
                let mut cap_records = Vec::new();
                for t in &query.record_types {
                    match (*t, self.cfg.device) {
                        // RECORD_TYPE 2: MEID.
                        (2, DeviceId::Meid(m)) => cap_records.push(RawBlock::new(2, m.octets())),
                        // RECORD_TYPE 1: band class capability, 0 and 1.
                        (1, _) => cap_records.push(RawBlock::new(1, vec![0xC0, 0x00])),
                        _ => {}
                    }
                }
                ReverseMessage::ExtendedProtocolCapability(ExtendedProtocolCapabilityResponse {
                    otasp_mob_p_rev: OTASP_MOB_P_REV,
                    mob_firm_rev: self.cfg.mob_firm_rev,
                    mob_model: self.cfg.mob_model,
                    features: self.features(),
                    cap_records,
                })
            }
        }
    }

    fn validation(&mut self, req: &ValidationRequest) -> BlockResults {
        let mut results = Vec::with_capacity(req.blocks.len());
        for block in &req.blocks {
            let result = match block {
                ValidationBlock::VerifySpc(spc) => {
                    if !self.cfg.faults.stay_locked && *spc == self.spc {
                        self.locked = false;
                        ResultCode::Accepted
                    } else {
                        ResultCode::InvalidSpc
                    }
                }
                ValidationBlock::ChangeSpc(spc) => {
                    if self.locked {
                        ResultCode::MobileLocked
                    } else {
                        self.spc = *spc;
                        ResultCode::Accepted
                    }
                }
                ValidationBlock::ValidateSpasm(v) => self.validate_spasm(v),
                ValidationBlock::Other(_) => ResultCode::BlockIdNotSupported,
            };
            results.push(BlockResult {
                block_id: block.block_id(),
                result,
            });
        }
        BlockResults { results }
    }

    /// Validate SPASM: AUTH_OTAPA must answer the outstanding challenge.
    fn validate_spasm(&mut self, v: &SpasmValidation) -> ResultCode {
        if !self.otapa_active {
            return ResultCode::MessageNotExpected;
        }
        let expected = match (self.challenge, self.cfg.spasm_key.as_ref()) {
            (Some(rand), Some(key)) => Some(auth_otapa(key, rand, self.cfg.device.esn_or_pesn())),
            _ => None,
        };
        if v.auth_otapa != expected {
            return ResultCode::InvalidSpasm;
        }
        if v.nam_lock && self.cfg.spasm_key.is_none() {
            // Nothing to protect the NAM with.
            return ResultCode::InvalidParameter;
        }
        self.challenge = None;
        self.spasm_open = true;
        self.nam_lock = v.nam_lock;
        ResultCode::Accepted
    }

    /// Whether an OTAPA session has yet to open the SPASM-protected NAM.
    fn spasm_closed(&self) -> bool {
        self.otapa_active && self.nam_lock && !self.spasm_open
    }

    fn download(&mut self, req: &DownloadRequest) -> BlockResults {
        let mut results = Vec::with_capacity(req.blocks.len());
        for block in &req.blocks {
            let id = block.block_id();
            let result = if self.locked || self.spasm_closed() {
                ResultCode::MobileLocked
            } else if let Some(code) = self
                .cfg
                .faults
                .reject_nam_block
                .and_then(|(bad, code)| (bad == id).then_some(code))
            {
                ResultCode::from(code)
            } else if matches!(block, NamDownloadBlock::Other(_)) {
                ResultCode::BlockIdNotSupported
            } else {
                self.temporary_nam.insert(id, block.clone());
                ResultCode::Accepted
            };
            results.push(BlockResult {
                block_id: id,
                result,
            });
        }
        BlockResults { results }
    }

    fn sspr_download(&mut self, req: &SsprDownloadRequest) -> SsprDownloadResponse {
        let result = self.take_segment(req);
        SsprDownloadResponse {
            block_id: req.block_id,
            result,
            segment_offset: req.segment_offset,
            segment_size: u8::try_from(req.segment_data.len()).unwrap_or(u8::MAX),
        }
    }

    fn take_segment(&mut self, req: &SsprDownloadRequest) -> ResultCode {
        if self.locked || self.spasm_closed() {
            return ResultCode::MobileLocked;
        }
        let extended = self.cfg.sspr_p_rev >= 3;
        match (req.block_id, extended) {
            (0, true) | (1, false) => return ResultCode::PrlFormatMismatch,
            (0, false) | (1, true) => {}
            _ => return ResultCode::BlockIdNotSupported,
        }
        // A segment at offset 0 starts a new PRL.
        if req.segment_offset == 0 {
            self.receiving_prl = Some(PrlReception {
                block_id: req.block_id,
                reassembler: Reassembler::new(),
            });
        }
        let Some(rx) = self.receiving_prl.as_mut() else {
            return ResultCode::DataSizeMismatch;
        };
        if rx
            .reassembler
            .push(req.segment_offset, req.last_segment, &req.segment_data)
            .is_err()
        {
            return ResultCode::DataSizeMismatch;
        }
        if !req.last_segment {
            return ResultCode::Accepted;
        }
        let Some(rx) = self.receiving_prl.take() else {
            return ResultCode::DataSizeMismatch;
        };
        let Ok(mut octets) = rx.reassembler.finish() else {
            return ResultCode::DataSizeMismatch;
        };
        if self.cfg.faults.corrupt_prl_crc {
            // The last octet is part of PR_LIST_CRC, never of PR_LIST_SIZE (for 3 octets or
            // more), so the size check still passes and the CRC check fails.
            if let Some(last) = octets.last_mut() {
                *last ^= 0x01;
            }
        }
        match prl::header_summary(&octets) {
            Err(_) => ResultCode::PrlLengthMismatch,
            Ok(h) if !h.size_ok() => ResultCode::PrlLengthMismatch,
            Ok(h) if !h.crc_ok() => ResultCode::CrcError,
            Ok(_) => {
                self.temporary_prl = Some(StoredPrl {
                    block_id: rx.block_id,
                    octets,
                });
                ResultCode::Accepted
            }
        }
    }

    fn commit(&mut self) -> ResultCode {
        if let Some(code) = self.cfg.faults.reject_commit {
            return ResultCode::from(code);
        }
        if self.locked || self.spasm_closed() {
            return ResultCode::MobileLocked;
        }
        self.committed_nam.append(&mut self.temporary_nam);
        if let Some(p) = self.temporary_prl.take() {
            self.committed_prl = Some(p);
        }
        ResultCode::Accepted
    }

    fn configuration(&self, block_ids: &[u8]) -> ConfigurationResponse {
        let mut blocks = Vec::new();
        for id in block_ids {
            let block = match self.committed_nam.get(id) {
                Some(NamDownloadBlock::CdmaAnalog(b)) => {
                    NamConfigBlock::CdmaAnalog(CdmaAnalogNamConfig {
                        firstchp: b.firstchp,
                        home_sid: b.home_sid,
                        ex: b.ex,
                        scm: SCM,
                        mob_p_rev: MOB_P_REV,
                        imsi_m: b.imsi_m,
                        access: b.access,
                        max_sid_nid: MAX_SID_NID,
                        sid_nid: b.sid_nid.clone(),
                    })
                }
                Some(NamDownloadBlock::Mdn(m)) => NamConfigBlock::Mdn(m.clone()),
                Some(NamDownloadBlock::Cdma(b)) => NamConfigBlock::Cdma(CdmaNamConfig {
                    slotted_mode: true,
                    mob_p_rev: MOB_P_REV,
                    imsi_m: b.imsi_m,
                    access: b.access,
                    max_sid_nid: MAX_SID_NID,
                    sid_nid: b.sid_nid.clone(),
                }),
                Some(NamDownloadBlock::ImsiT(i)) => NamConfigBlock::ImsiT(*i),
                Some(NamDownloadBlock::Other(_)) | None => continue,
            };
            blocks.push(ConfiguredNamBlock {
                block,
                result: ResultCode::Accepted,
            });
        }
        ConfigurationResponse {
            blocks,
            fresh: None,
        }
    }

    /// A RAND_OTAPA challenge, derived from the ESN and the message count (deterministic, so
    /// tests are reproducible).
    fn rand_otapa(&self) -> u32 {
        let esn = self.cfg.device.esn_or_pesn().as_u32();
        (esn ^ 0x5EED_0A7A).rotate_left((self.handled % 32) as u32)
    }
}

fn single_block(block_id: u8) -> SingleBlockResponse {
    SingleBlockResponse {
        block_id,
        result: ResultCode::MessageNotExpected,
        data: Vec::new(),
        fresh: None,
    }
}

fn raw_block_results(blocks: &[RawBlock]) -> BlockResults {
    BlockResults {
        results: blocks
            .iter()
            .map(|b| BlockResult {
                block_id: b.block_id,
                result: ResultCode::MessageNotExpected,
            })
            .collect(),
    }
}

fn raw_configuration(block_ids: &[u8]) -> RawConfigurationResponse {
    RawConfigurationResponse {
        blocks: block_ids
            .iter()
            .map(|id| ConfiguredRawBlock {
                block: RawBlock::new(*id, Vec::new()),
                result: ResultCode::MessageNotExpected,
            })
            .collect(),
        fresh: None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use otagw_codecs::identity::{Esn, Meid};
    use otagw_codecs::is683::{
        BlockIdList, CapabilityQuery, ImsiParams, Mdn, OtapaRequest, SsprConfigurationRequest,
    };
    use otagw_codecs::prl::segment::segment;
    use otagw_codecs::prl::{Prl, PrlFormat};

    const LAB_PRL: &[u8] = include_bytes!("../../../docs/examples/lab.prl");

    fn lab_prl_block_id() -> u8 {
        match Prl::decode(LAB_PRL, None).unwrap().format() {
            PrlFormat::Classic => 0,
            PrlFormat::Extended => 1,
        }
    }

    fn lab_prl_sspr_p_rev() -> u8 {
        if lab_prl_block_id() == 1 {
            3
        } else {
            1
        }
    }

    fn config() -> HandsetConfig {
        let mut c = HandsetConfig::new(DeviceId::Esn(Esn::new(0x1A2B_3C4D)));
        c.sspr_p_rev = lab_prl_sspr_p_rev();
        c
    }

    fn handset(f: impl FnOnce(&mut HandsetConfig)) -> Handset {
        let mut c = config();
        f(&mut c);
        Handset::new(c).unwrap()
    }

    /// Every answer must encode, and decode back to itself.
    fn ask(h: &mut Handset, msg: ForwardMessage) -> ReverseMessage {
        let bytes = msg.encode().unwrap();
        let fwd = ForwardMessage::decode(&bytes).unwrap();
        let rev = h.handle(&fwd);
        let wire = rev.encode().unwrap();
        assert_eq!(ReverseMessage::decode(&wire).unwrap(), rev);
        rev
    }

    fn verify(spc: &str) -> ForwardMessage {
        ForwardMessage::Validation(ValidationRequest {
            blocks: vec![ValidationBlock::VerifySpc(Spc::new(spc).unwrap())],
        })
    }

    fn mdn_block() -> NamDownloadBlock {
        NamDownloadBlock::Mdn(Mdn::new("5551234567").unwrap())
    }

    fn imsi_t_block() -> NamDownloadBlock {
        NamDownloadBlock::ImsiT(ImsiParams::class0("310", "00", "5551234567").unwrap())
    }

    fn download(blocks: Vec<NamDownloadBlock>) -> ForwardMessage {
        ForwardMessage::Download(DownloadRequest {
            blocks,
            fresh: None,
        })
    }

    fn sspr(block_id: u8, offset: u16, last: bool, data: &[u8]) -> ForwardMessage {
        ForwardMessage::SsprDownload(SsprDownloadRequest {
            block_id,
            last_segment: last,
            segment_offset: offset,
            segment_data: data.to_vec(),
            fresh: None,
        })
    }

    /// Sends `prl` in segments of `size`; returns every response.
    fn send_prl(
        h: &mut Handset,
        block_id: u8,
        prl: &[u8],
        size: usize,
    ) -> Vec<SsprDownloadResponse> {
        segment(prl, size)
            .unwrap()
            .into_iter()
            .map(
                |s| match ask(h, sspr(block_id, s.offset, s.last, &s.data)) {
                    ReverseMessage::SsprDownload(r) => r,
                    other => panic!("unexpected {other:?}"),
                },
            )
            .collect()
    }

    fn results(rev: ReverseMessage) -> Vec<(u8, u8)> {
        match rev {
            ReverseMessage::Download(r) | ReverseMessage::Validation(r) => r
                .results
                .iter()
                .map(|b| (b.block_id, u8::from(b.result)))
                .collect(),
            other => panic!("no block results in {other:?}"),
        }
    }

    #[test]
    fn config_is_checked() {
        let mut c = config();
        c.spc = "12345".into();
        assert_eq!(
            Handset::new(c).unwrap_err(),
            HandsetConfigError::BadSpc("12345".into())
        );
        let mut c = config();
        c.sspr_p_rev = 4;
        assert_eq!(
            Handset::new(c).unwrap_err(),
            HandsetConfigError::BadSsprPRev(4)
        );
    }

    #[test]
    fn protocol_capability_lists_the_features() {
        let mut h = handset(|c| {
            c.mob_firm_rev = 0x0203;
            c.mob_model = 7;
            c.sspr_p_rev = 3;
        });
        let rev = ask(
            &mut h,
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest { query: None }),
        );
        let ReverseMessage::ProtocolCapability(r) = rev else {
            panic!("{rev:?}")
        };
        assert_eq!(r.mob_firm_rev, 0x0203);
        assert_eq!(r.mob_model, 7);
        let features: Vec<(u8, u8)> = r
            .features
            .iter()
            .map(|f| (f.feature_id, f.feature_p_rev))
            .collect();
        assert_eq!(features, vec![(0, 2), (2, 3), (3, 1), (4, 1)]);
        assert_eq!(r.band_mode(), Some(0x60));
    }

    #[test]
    fn extended_capability_reports_the_meid() {
        let meid: Meid = "A0000012345678".parse().unwrap();
        let mut h = handset(|c| c.device = DeviceId::Meid(meid));
        let rev = ask(
            &mut h,
            ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest {
                query: Some(CapabilityQuery {
                    otasp_p_rev: 4,
                    record_types: vec![2, 5],
                }),
            }),
        );
        let ReverseMessage::ExtendedProtocolCapability(r) = rev else {
            panic!("{rev:?}")
        };
        assert_eq!(r.cap_records, vec![RawBlock::new(2, meid.octets())]);
    }

    #[test]
    fn verify_spc_unlocks_only_with_the_right_code() {
        let mut h = handset(|c| {
            c.locked = true;
            c.spc = "123456".into();
        });
        assert!(h.is_locked());
        assert_eq!(results(ask(&mut h, verify("000000"))), vec![(0, 11)]);
        assert!(h.is_locked());
        assert_eq!(results(ask(&mut h, verify("123456"))), vec![(0, 0)]);
        assert!(!h.is_locked());
    }

    #[test]
    fn stay_locked_fault_refuses_the_right_spc() {
        let mut h = handset(|c| {
            c.locked = true;
            c.faults.stay_locked = true;
        });
        assert_eq!(results(ask(&mut h, verify("000000"))), vec![(0, 11)]);
        assert!(h.is_locked());
        assert_eq!(
            results(ask(&mut h, download(vec![mdn_block()]))),
            vec![(1, 10)]
        );
    }

    #[test]
    fn change_spc_needs_the_lock_open() {
        let mut h = handset(|c| c.locked = true);
        let change = ForwardMessage::Validation(ValidationRequest {
            blocks: vec![ValidationBlock::ChangeSpc(Spc::new("654321").unwrap())],
        });
        assert_eq!(results(ask(&mut h, change.clone())), vec![(1, 10)]);
        ask(&mut h, verify("000000"));
        assert_eq!(results(ask(&mut h, change)), vec![(1, 0)]);
        assert_eq!(h.spc(), "654321");
    }

    #[test]
    fn locked_handset_refuses_every_download() {
        let mut h = handset(|c| c.locked = true);
        assert_eq!(
            results(ask(&mut h, download(vec![mdn_block(), imsi_t_block()]))),
            vec![(1, 10), (3, 10)]
        );
        assert!(h.temporary_nam().is_empty());
        let r = send_prl(&mut h, lab_prl_block_id(), LAB_PRL, 251);
        assert_eq!(u8::from(r[0].result), 10);
        assert_eq!(
            ask(&mut h, ForwardMessage::Commit),
            ReverseMessage::Commit(ResultCode::MobileLocked)
        );
    }

    #[test]
    fn nam_blocks_wait_in_temporary_storage_until_commit() {
        let mut h = handset(|_| {});
        assert_eq!(
            results(ask(&mut h, download(vec![mdn_block(), imsi_t_block()]))),
            vec![(1, 0), (3, 0)]
        );
        assert_eq!(h.temporary_nam().len(), 2);
        assert!(h.committed_nam().is_empty());
        assert_eq!(
            ask(&mut h, ForwardMessage::Commit),
            ReverseMessage::Commit(ResultCode::Accepted)
        );
        assert!(h.temporary_nam().is_empty());
        assert_eq!(h.committed_nam().get(&1), Some(&mdn_block()));
        assert_eq!(h.committed_nam().get(&3), Some(&imsi_t_block()));
    }

    #[test]
    fn unknown_nam_block_is_not_supported() {
        let mut h = handset(|_| {});
        let other = NamDownloadBlock::Other(RawBlock::new(9, vec![1, 2]));
        assert_eq!(results(ask(&mut h, download(vec![other]))), vec![(9, 7)]);
        assert!(h.temporary_nam().is_empty());
    }

    #[test]
    fn reject_nam_block_fault() {
        let mut h = handset(|c| c.faults.reject_nam_block = Some((3, 4)));
        assert_eq!(
            results(ask(&mut h, download(vec![mdn_block(), imsi_t_block()]))),
            vec![(1, 0), (3, 4)]
        );
        assert!(h.temporary_nam().contains_key(&1));
        assert!(!h.temporary_nam().contains_key(&3));
    }

    #[test]
    fn prl_download_in_segments_then_commit() {
        let mut h = handset(|_| {});
        let id = lab_prl_block_id();
        let responses = send_prl(&mut h, id, LAB_PRL, 10);
        assert!(responses.len() > 1);
        for (r, s) in responses.iter().zip(segment(LAB_PRL, 10).unwrap()) {
            assert_eq!(r.result, ResultCode::Accepted);
            assert_eq!(r.block_id, id);
            assert_eq!(r.segment_offset, s.offset);
            assert_eq!(usize::from(r.segment_size), s.data.len());
        }
        assert_eq!(h.temporary_prl(), Some(LAB_PRL));
        assert_eq!(h.committed_prl(), None);
        ask(&mut h, ForwardMessage::Commit);
        assert_eq!(h.committed_prl(), Some(LAB_PRL));
        assert_eq!(h.committed_prl_block_id(), Some(id));
        assert_eq!(h.temporary_prl(), None);
    }

    #[test]
    fn prl_format_must_match_sspr_p_rev() {
        let mut h = handset(|c| c.sspr_p_rev = 3);
        let r = ask(&mut h, sspr(0, 0, true, LAB_PRL));
        assert_eq!(r.result(), Some(ResultCode::PrlFormatMismatch));
        let mut h = handset(|c| c.sspr_p_rev = 1);
        let r = ask(&mut h, sspr(1, 0, true, LAB_PRL));
        assert_eq!(r.result(), Some(ResultCode::PrlFormatMismatch));
        let r = ask(&mut h, sspr(2, 0, true, LAB_PRL));
        assert_eq!(r.result(), Some(ResultCode::BlockIdNotSupported));
    }

    #[test]
    fn out_of_order_segment_is_a_size_mismatch() {
        let mut h = handset(|_| {});
        let id = lab_prl_block_id();
        assert_eq!(
            ask(&mut h, sspr(id, 0, false, &LAB_PRL[..10])).result(),
            Some(ResultCode::Accepted)
        );
        let r = ask(&mut h, sspr(id, 12, false, &LAB_PRL[12..20]));
        assert_eq!(r.result(), Some(ResultCode::DataSizeMismatch));
        let ReverseMessage::SsprDownload(r) = r else {
            panic!()
        };
        assert_eq!((r.segment_offset, r.segment_size), (12, 8));
        // A segment with no PRL started is refused too.
        let mut h = handset(|_| {});
        assert_eq!(
            ask(&mut h, sspr(id, 10, true, &LAB_PRL[10..])).result(),
            Some(ResultCode::DataSizeMismatch)
        );
        // The right segment after a wrong one still fits.
        let mut h = handset(|_| {});
        ask(&mut h, sspr(id, 0, false, &LAB_PRL[..10]));
        ask(&mut h, sspr(id, 11, false, &LAB_PRL[11..20]));
        assert_eq!(
            ask(&mut h, sspr(id, 10, true, &LAB_PRL[10..])).result(),
            Some(ResultCode::Accepted)
        );
        assert_eq!(h.temporary_prl(), Some(LAB_PRL));
    }

    #[test]
    fn prl_size_mismatch_is_reported_after_the_last_segment() {
        let mut h = handset(|_| {});
        let id = lab_prl_block_id();
        let mut bad = LAB_PRL.to_vec();
        bad[1] = bad[1].wrapping_add(1); // PR_LIST_SIZE off by one
        let r = send_prl(&mut h, id, &bad, 251);
        assert_eq!(r.last().unwrap().result, ResultCode::PrlLengthMismatch);
        // A truncated PRL too short to hold a header.
        let r = ask(&mut h, sspr(id, 0, true, &LAB_PRL[..4]));
        assert_eq!(r.result(), Some(ResultCode::PrlLengthMismatch));
        assert_eq!(h.temporary_prl(), None);
    }

    #[test]
    fn corrupt_prl_crc_fault() {
        let mut h = handset(|c| c.faults.corrupt_prl_crc = true);
        let r = send_prl(&mut h, lab_prl_block_id(), LAB_PRL, 16);
        assert!(r[..r.len() - 1].iter().all(|r| r.result.is_accepted()));
        assert_eq!(r.last().unwrap().result, ResultCode::CrcError);
        assert_eq!(h.temporary_prl(), None);
        ask(&mut h, ForwardMessage::Commit);
        assert_eq!(h.committed_prl(), None);
    }

    #[test]
    fn reject_commit_fault() {
        let mut h = handset(|c| c.faults.reject_commit = Some(1));
        ask(&mut h, download(vec![mdn_block()]));
        send_prl(&mut h, lab_prl_block_id(), LAB_PRL, 251);
        assert_eq!(
            ask(&mut h, ForwardMessage::Commit),
            ReverseMessage::Commit(ResultCode::RejectedUnknown)
        );
        assert!(h.committed_nam().is_empty());
        assert_eq!(h.committed_prl(), None);
    }

    #[test]
    fn reboot_loses_temporary_storage_and_relocks() {
        let mut h = handset(|c| c.locked = true);
        ask(&mut h, verify("000000"));
        ask(&mut h, download(vec![mdn_block()]));
        ask(&mut h, ForwardMessage::Commit);
        ask(&mut h, download(vec![imsi_t_block()]));
        send_prl(&mut h, lab_prl_block_id(), LAB_PRL, 251);
        h.reboot();
        assert_eq!(h.reboots(), 1);
        assert!(h.is_locked());
        assert!(h.temporary_nam().is_empty());
        assert_eq!(h.temporary_prl(), None);
        assert_eq!(h.committed_nam().len(), 1);
        assert_eq!(h.committed_prl(), None);
    }

    #[test]
    fn otapa_start_and_stop() {
        let mut h = handset(|_| {});
        let start = ask(&mut h, ForwardMessage::Otapa(OtapaRequest { start: true }));
        assert_eq!(
            start,
            ReverseMessage::Otapa(OtapaResponse {
                result: ResultCode::Accepted,
                rand_otapa: None
            })
        );
        assert!(h.otapa_active());
        ask(&mut h, ForwardMessage::Otapa(OtapaRequest { start: false }));
        assert!(!h.otapa_active());
        // The programming lock alone does not protect the NAM against OTAPA.
        let mut locked = handset(|c| c.locked = true);
        let ReverseMessage::Otapa(r) = ask(
            &mut locked,
            ForwardMessage::Otapa(OtapaRequest { start: true }),
        ) else {
            panic!()
        };
        assert!(r.result.is_accepted());
        assert_eq!(r.rand_otapa, None);
    }

    fn spasm_key() -> SpasmKey {
        "00112233445566AA".parse().unwrap()
    }

    fn validate_spasm(auth_otapa: Option<u32>, nam_lock: bool) -> ForwardMessage {
        ForwardMessage::Validation(ValidationRequest {
            blocks: vec![ValidationBlock::ValidateSpasm(SpasmValidation {
                auth_otapa,
                nam_lock,
            })],
        })
    }

    fn spasm_result(h: &mut Handset, msg: ForwardMessage) -> ResultCode {
        let ReverseMessage::Validation(r) = ask(h, msg) else {
            panic!()
        };
        r.results[0].result
    }

    fn otapa_challenge(h: &mut Handset) -> u32 {
        let ReverseMessage::Otapa(r) = ask(h, ForwardMessage::Otapa(OtapaRequest { start: true }))
        else {
            panic!()
        };
        r.rand_otapa.expect("NAM_LOCK_IND set")
    }

    fn segment_result(h: &mut Handset) -> ResultCode {
        let segment = ForwardMessage::SsprDownload(SsprDownloadRequest {
            block_id: u8::from(h.config().sspr_p_rev >= 3),
            last_segment: false,
            segment_offset: 0,
            segment_data: vec![0; 10],
            fresh: None,
        });
        let ReverseMessage::SsprDownload(r) = ask(h, segment) else {
            panic!()
        };
        r.result
    }

    #[test]
    fn a_spasm_protected_nam_opens_only_to_the_right_auth_otapa() {
        let mut h = handset(|c| c.spasm_key = Some(spasm_key()));
        assert!(h.nam_locked());
        let esn = h.config().device.esn_or_pesn();
        // Outside OTAPA the block is not expected.
        assert_eq!(
            spasm_result(&mut h, validate_spasm(Some(1), true)),
            ResultCode::MessageNotExpected
        );
        let rand = otapa_challenge(&mut h);
        // Before validation nothing is taken.
        assert_eq!(segment_result(&mut h), ResultCode::MobileLocked);
        assert_eq!(
            ask(&mut h, ForwardMessage::Commit),
            ReverseMessage::Commit(ResultCode::MobileLocked)
        );
        // A wrong signature, a missing one, one made with another key: 13, still closed.
        let right = auth_otapa(&spasm_key(), rand, esn);
        let other_key: SpasmKey = "00112233445566AB".parse().unwrap();
        for wrong in [
            Some(right ^ 1),
            None,
            Some(auth_otapa(&other_key, rand, esn)),
        ] {
            assert_eq!(
                spasm_result(&mut h, validate_spasm(wrong, true)),
                ResultCode::InvalidSpasm
            );
        }
        assert_eq!(segment_result(&mut h), ResultCode::MobileLocked);
        // The right one opens the NAM for this session; NAM_LOCK 1 keeps it protected.
        assert_eq!(
            spasm_result(&mut h, validate_spasm(Some(right), true)),
            ResultCode::Accepted
        );
        assert_eq!(segment_result(&mut h), ResultCode::Accepted);
        ask(&mut h, ForwardMessage::Otapa(OtapaRequest { start: false }));
        assert!(h.nam_locked());
        // The next session is closed again and gets a new challenge.
        let rand2 = otapa_challenge(&mut h);
        assert_ne!(rand2, rand);
        assert_eq!(segment_result(&mut h), ResultCode::MobileLocked);
        // NAM_LOCK 0 lifts the protection for later sessions.
        let right2 = auth_otapa(&spasm_key(), rand2, esn);
        assert_eq!(
            spasm_result(&mut h, validate_spasm(Some(right2), false)),
            ResultCode::Accepted
        );
        ask(&mut h, ForwardMessage::Otapa(OtapaRequest { start: false }));
        assert!(!h.nam_locked());
        let ReverseMessage::Otapa(r) =
            ask(&mut h, ForwardMessage::Otapa(OtapaRequest { start: true }))
        else {
            panic!()
        };
        assert_eq!(r.rand_otapa, None);
    }

    #[test]
    fn configuration_reads_back_committed_blocks() {
        let mut h = handset(|_| {});
        ask(&mut h, download(vec![mdn_block()]));
        ask(&mut h, ForwardMessage::Commit);
        let rev = ask(
            &mut h,
            ForwardMessage::Configuration(BlockIdList {
                block_ids: vec![1, 2],
            }),
        );
        let ReverseMessage::Configuration(r) = rev else {
            panic!()
        };
        assert_eq!(r.blocks.len(), 1);
        assert_eq!(
            r.blocks[0].block,
            NamConfigBlock::Mdn(Mdn::new("5551234567").unwrap())
        );
    }

    #[test]
    fn other_requests_are_not_expected() {
        let mut h = handset(|_| {});
        assert_eq!(
            ask(
                &mut h,
                ForwardMessage::SsprConfiguration(SsprConfigurationRequest {
                    block_id: 0,
                    segment: None
                })
            )
            .result(),
            Some(ResultCode::MessageNotExpected)
        );
        assert_eq!(
            ask(
                &mut h,
                ForwardMessage::ServiceKeyGeneration(
                    otagw_codecs::is683::ServiceKeyGenerationRequest { key_id: 0x800 }
                )
            )
            .result(),
            Some(ResultCode::MessageNotExpected)
        );
    }
}
