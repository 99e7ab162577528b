//! Reverse messages (mobile -> base station / OTAF), C.S0016 section 3.5.1. Field widths in
//! bits:
//!
//! | code | message | fields |
//! |---|---|---|
//! | 0 | Configuration Response | NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA} x N, RESULT_CODE 8 x N, [FRESH] |
//! | 1, 9, 14, 18, 23 | Download / Validation / 3GPD / MMD / MMS Download Response | NUM_BLOCKS 8, {BLOCK_ID 8, RESULT_CODE 8} x N ([`BlockResults`]) |
//! | 2, 5, 15, 21 | MS Key / Commit / Secure Mode / Service Key Generation Response | RESULT_CODE 8 |
//! | 3 | Key Generation Response | RESULT_CODE 8, MS_RESULT_LEN 8, MS_RESULT |
//! | 4 | Re-Authenticate Response | AUTHR 18, RANDC 8, COUNT 6, AUTH_DATA 24 |
//! | 6 | Protocol Capability Response | MOB_FIRM_REV 16, MOB_MODEL 8, NUM_FEATURES 8, {FEATURE_ID 8, FEATURE_P_REV 8} x N, ADD_LENGTH 8, ADDITIONAL_FIELDS |
//! | 7, 11, 19 | SSPR / PUZL / System Tag Configuration Response | BLOCK_ID 8, RESULT_CODE 8, BLOCK_LEN 8, PARAM_DATA, [FRESH] ([`SingleBlockResponse`]) |
//! | 8 | SSPR Download Response | BLOCK_ID 8, RESULT_CODE 8, SEGMENT_OFFSET 16, SEGMENT_SIZE 8 |
//! | 10 | OTAPA Response | RESULT_CODE 8, RESERVED 7, NAM_LOCK_IND 1, [RAND_OTAPA 32] |
//! | 12 | PUZL Download Response | NUM_BLOCKS 8, {BLOCK_ID 8, RESULT_CODE 8, IDS_PRESENT 1, UZ_ID 16 + UZ_SID 15 \| RESERVED 7} x N |
//! | 13, 17, 22 | 3GPD / MMD / MMS Configuration Response | NUM_BLOCKS 8, {BLOCK_ID, BLOCK_LEN, PARAM_DATA, RESULT_CODE} x N, [FRESH] |
//! | 16 | Extended Protocol Capability Response | OTASP_MOB_P_REV 8, MOB_FIRM_REV 16, MOB_MODEL 8, NUM_FEATURES 8, {FEATURE_ID, FEATURE_P_REV} x N, NUM_CAP_RECORDS 8, {RECORD_TYPE 8, RECORD_LEN 8, data} x N |
//! | 20 | System Tag Download Response | BLOCK_ID 8, RESULT_CODE 8, [SEGMENT_OFFSET 16, SEGMENT_SIZE 8] |

use super::blocks::{
    read_counted, write_counted, BlockResults, RawBlock, RawConfigurationResponse,
    SingleBlockResponse,
};
use super::nam::NamConfigBlock;
use super::{
    expect_end, put, put_fresh, put_len_prefixed, put_result, read_fresh, read_len_prefixed,
    read_result, Is683Error, MessageType, Result, ResultCode,
};
use crate::bits::{BitReader, BitWriter};

/// A NAM block reported in a Configuration Response, with its RESULT_CODE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfiguredNamBlock {
    /// The block.
    pub block: NamConfigBlock,
    /// The RESULT_CODE for it.
    pub result: ResultCode,
}

/// Configuration Response: the NAM blocks asked for, then one RESULT_CODE per block.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ConfigurationResponse {
    /// The blocks with their results (at most 255).
    pub blocks: Vec<ConfiguredNamBlock>,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

impl ConfigurationResponse {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", |r| {
            NamConfigBlock::from_block(RawBlock::read(r)?)
        })?;
        let blocks = blocks
            .into_iter()
            .map(|block| {
                Ok(ConfiguredNamBlock {
                    block,
                    result: read_result(r)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let fresh = read_fresh(r)?;
        Ok(Self { blocks, fresh })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| {
            b.block.to_block()?.write(w)
        })?;
        for b in &self.blocks {
            put_result(w, b.result);
        }
        put_fresh(w, self.fresh)
    }
}

/// Key Generation Response: the mobile's half of the key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyGenerationResponse {
    /// RESULT_CODE.
    pub result: ResultCode,
    /// MS_RESULT (at most 255 octets).
    pub ms_result: Vec<u8>,
}

/// Re-Authenticate Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReAuthenticateResponse {
    /// AUTHR (18 bits): authentication signature.
    pub authr: u32,
    /// RANDC (8 bits): the high octet of the RAND used.
    pub randc: u8,
    /// COUNT (6 bits): call history parameter.
    pub count: u8,
    /// AUTH_DATA (24 bits): the authentication data input.
    pub auth_data: u32,
}

impl ReAuthenticateResponse {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        Ok(Self {
            authr: r.u32("AUTHR", 18)?,
            randc: r.u8("RANDC", 8)?,
            count: r.u8("COUNT", 6)?,
            auth_data: r.u32("AUTH_DATA", 24)?,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        put(w, "AUTHR", u64::from(self.authr), 18)?;
        w.write(u64::from(self.randc), 8);
        put(w, "COUNT", u64::from(self.count), 6)?;
        put(w, "AUTH_DATA", u64::from(self.auth_data), 24)
    }
}

/// FEATURE_ID 8 + FEATURE_P_REV 8: one OTASP feature the mobile supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Feature {
    /// FEATURE_ID (see the associated constants).
    pub feature_id: u8,
    /// FEATURE_P_REV: the revision of that feature (for SSPR, the SSPR_P_REV).
    pub feature_p_rev: u8,
}

impl Feature {
    /// FEATURE_ID: NAM download (DATA_P_REV).
    pub const NAM_DOWNLOAD: u8 = 0;
    /// FEATURE_ID: key exchange (A_KEY_P_REV).
    pub const KEY_EXCHANGE: u8 = 1;
    /// FEATURE_ID: system selection for preferred roaming (SSPR_P_REV; >= 3 means extended PRL).
    pub const SSPR: u8 = 2;
    /// FEATURE_ID: service programming lock (SPL_P_REV).
    pub const SPL: u8 = 3;
    /// FEATURE_ID: over-the-air parameter administration (OTAPA_P_REV).
    pub const OTAPA: u8 = 4;
    /// FEATURE_ID: preferred user zone list (PUZL_P_REV).
    pub const PUZL: u8 = 5;
    /// FEATURE_ID: 3G packet data.
    pub const THREE_GPD: u8 = 6;
    /// FEATURE_ID: secure mode.
    pub const SECURE_MODE: u8 = 7;
    /// FEATURE_ID: multimedia domain.
    pub const MMD: u8 = 8;
    /// FEATURE_ID: system tag download.
    pub const SYSTEM_TAG: u8 = 9;
    /// FEATURE_ID: multimedia messaging service.
    pub const MMS: u8 = 10;

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        Ok(Self {
            feature_id: r.u8("FEATURE_ID", 8)?,
            feature_p_rev: r.u8("FEATURE_P_REV", 8)?,
        })
    }

    fn write(w: &mut BitWriter, f: &Self) -> Result<()> {
        w.write(u64::from(f.feature_id), 8);
        w.write(u64::from(f.feature_p_rev), 8);
        Ok(())
    }
}

/// Protocol Capability Response: firmware, model, features and band/mode capability.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ProtocolCapabilityResponse {
    /// MOB_FIRM_REV: firmware revision.
    pub mob_firm_rev: u16,
    /// MOB_MODEL: manufacturer's model number.
    pub mob_model: u8,
    /// The features supported (at most 255).
    pub features: Vec<Feature>,
    /// ADDITIONAL_FIELDS (ADD_LENGTH = its length, at most 255); the first octet holds the
    /// band/mode bits (see [`Self::BAND_CLASS_0_ANALOG`] and friends).
    pub additional_fields: Vec<u8>,
}

impl ProtocolCapabilityResponse {
    /// Band/mode bit: band class 0, analog.
    pub const BAND_CLASS_0_ANALOG: u8 = 0x80;
    /// Band/mode bit: band class 0, CDMA.
    pub const BAND_CLASS_0_CDMA: u8 = 0x40;
    /// Band/mode bit: band class 1 (PCS), CDMA.
    pub const BAND_CLASS_1_CDMA: u8 = 0x20;
    /// Band/mode bit: band class 3, CDMA.
    pub const BAND_CLASS_3_CDMA: u8 = 0x10;
    /// Band/mode bit: band class 6, CDMA.
    pub const BAND_CLASS_6_CDMA: u8 = 0x08;

    /// The band/mode capability octet, if ADDITIONAL_FIELDS has one.
    pub fn band_mode(&self) -> Option<u8> {
        self.additional_fields.first().copied()
    }

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let mob_firm_rev = r.u16("MOB_FIRM_REV", 16)?;
        let mob_model = r.u8("MOB_MODEL", 8)?;
        let features = read_counted(r, "NUM_FEATURES", Feature::read)?;
        let additional_fields = read_len_prefixed(r, "ADD_LENGTH")?;
        Ok(Self {
            mob_firm_rev,
            mob_model,
            features,
            additional_fields,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.write(u64::from(self.mob_firm_rev), 16);
        w.write(u64::from(self.mob_model), 8);
        write_counted(w, "NUM_FEATURES", &self.features, Feature::write)?;
        put_len_prefixed(w, "ADD_LENGTH", &self.additional_fields)
    }
}

/// Extended Protocol Capability Response (reverse code 16): the answer to a Protocol
/// Capability Request that asked for capability records.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExtendedProtocolCapabilityResponse {
    /// OTASP_MOB_P_REV: the mobile's OTASP protocol revision.
    pub otasp_mob_p_rev: u8,
    /// MOB_FIRM_REV: firmware revision.
    pub mob_firm_rev: u16,
    /// MOB_MODEL: manufacturer's model number.
    pub mob_model: u8,
    /// The features supported (at most 255).
    pub features: Vec<Feature>,
    /// Capability records: `block_id` is RECORD_TYPE (0 operating mode, 1 band class, 2 MEID,
    /// 3 ICCID, 4 EXT_UIM_ID, 5 MEID_ME), `data` the record (RECORD_LEN = its length).
    pub cap_records: Vec<RawBlock>,
}

impl ExtendedProtocolCapabilityResponse {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let otasp_mob_p_rev = r.u8("OTASP_MOB_P_REV", 8)?;
        let mob_firm_rev = r.u16("MOB_FIRM_REV", 16)?;
        let mob_model = r.u8("MOB_MODEL", 8)?;
        let features = read_counted(r, "NUM_FEATURES", Feature::read)?;
        let cap_records = read_counted(r, "NUM_CAP_RECORDS", RawBlock::read)?;
        Ok(Self {
            otasp_mob_p_rev,
            mob_firm_rev,
            mob_model,
            features,
            cap_records,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.write(u64::from(self.otasp_mob_p_rev), 8);
        w.write(u64::from(self.mob_firm_rev), 16);
        w.write(u64::from(self.mob_model), 8);
        write_counted(w, "NUM_FEATURES", &self.features, Feature::write)?;
        write_counted(w, "NUM_CAP_RECORDS", &self.cap_records, |w, b| b.write(w))
    }
}

/// SSPR Download Response: the mobile echoes the segment it stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SsprDownloadResponse {
    /// BLOCK_ID of the request.
    pub block_id: u8,
    /// RESULT_CODE (8 PRL length mismatch and 9 CRC error come after the last segment).
    pub result: ResultCode,
    /// SEGMENT_OFFSET echoed.
    pub segment_offset: u16,
    /// SEGMENT_SIZE echoed.
    pub segment_size: u8,
}

/// OTAPA Response: RESULT_CODE 8, RESERVED 7, NAM_LOCK_IND 1, [RAND_OTAPA 32].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OtapaResponse {
    /// RESULT_CODE.
    pub result: ResultCode,
    /// RAND_OTAPA: `Some` when the NAM is SPASM-locked (NAM_LOCK_IND = 1), carrying the
    /// challenge for the SPASM computation.
    pub rand_otapa: Option<u32>,
}

/// UZ_ID 16 + UZ_SID 15: a user zone named in a PUZL Download Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct UserZone {
    /// UZ_ID: user zone id.
    pub uz_id: u16,
    /// UZ_SID (15 bits): the SID the user zone belongs to.
    pub uz_sid: u16,
}

/// One block result of a PUZL Download Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PuzlBlockResult {
    /// BLOCK_ID.
    pub block_id: u8,
    /// RESULT_CODE.
    pub result: ResultCode,
    /// The user zone concerned, when IDS_PRESENT.
    pub user_zone: Option<UserZone>,
}

/// PUZL Download Response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PuzlDownloadResponse {
    /// One entry per block (at most 255).
    pub blocks: Vec<PuzlBlockResult>,
}

impl PuzlDownloadResponse {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", |r| {
            let block_id = r.u8("BLOCK_ID", 8)?;
            let result = read_result(r)?;
            let user_zone = if r.flag("IDS_PRESENT")? {
                Some(UserZone {
                    uz_id: r.u16("UZ_ID", 16)?,
                    uz_sid: r.u16("UZ_SID", 15)?,
                })
            } else {
                r.skip("RESERVED", 7)?;
                None
            };
            Ok(PuzlBlockResult {
                block_id,
                result,
                user_zone,
            })
        })?;
        Ok(Self { blocks })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| {
            w.write(u64::from(b.block_id), 8);
            put_result(w, b.result);
            w.flag(b.user_zone.is_some());
            match b.user_zone {
                Some(z) => {
                    w.write(u64::from(z.uz_id), 16);
                    put(w, "UZ_SID", u64::from(z.uz_sid), 15)?;
                }
                None => w.write(0, 7),
            }
            Ok(())
        })
    }
}

/// SEGMENT_OFFSET 16 + SEGMENT_SIZE 8 echoed by a System Tag Download Response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SegmentAck {
    /// SEGMENT_OFFSET.
    pub offset: u16,
    /// SEGMENT_SIZE.
    pub size: u8,
}

/// System Tag Download Response. The segment echo is present (for the segmented tag lists)
/// when the octets are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemTagDownloadResponse {
    /// BLOCK_ID of the request.
    pub block_id: u8,
    /// RESULT_CODE.
    pub result: ResultCode,
    /// The segment stored, if echoed.
    pub segment: Option<SegmentAck>,
}

/// A reverse-link (mobile -> base station) IS-683 message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReverseMessage {
    /// 0: Configuration Response.
    Configuration(ConfigurationResponse),
    /// 1: Download Response.
    Download(BlockResults),
    /// 2: MS Key Response.
    MsKey(ResultCode),
    /// 3: Key Generation Response.
    KeyGeneration(KeyGenerationResponse),
    /// 4: Re-Authenticate Response.
    ReAuthenticate(ReAuthenticateResponse),
    /// 5: Commit Response.
    Commit(ResultCode),
    /// 6: Protocol Capability Response.
    ProtocolCapability(ProtocolCapabilityResponse),
    /// 7: SSPR Configuration Response.
    SsprConfiguration(SingleBlockResponse),
    /// 8: SSPR Download Response.
    SsprDownload(SsprDownloadResponse),
    /// 9: Validation Response.
    Validation(BlockResults),
    /// 10: OTAPA Response.
    Otapa(OtapaResponse),
    /// 11: PUZL Configuration Response.
    PuzlConfiguration(SingleBlockResponse),
    /// 12: PUZL Download Response.
    PuzlDownload(PuzlDownloadResponse),
    /// 13: 3GPD Configuration Response.
    ThreeGpdConfiguration(RawConfigurationResponse),
    /// 14: 3GPD Download Response.
    ThreeGpdDownload(BlockResults),
    /// 15: Secure Mode Response.
    SecureMode(ResultCode),
    /// 16: Extended Protocol Capability Response.
    ExtendedProtocolCapability(ExtendedProtocolCapabilityResponse),
    /// 17: MMD Configuration Response.
    MmdConfiguration(RawConfigurationResponse),
    /// 18: MMD Download Response.
    MmdDownload(BlockResults),
    /// 19: System Tag Configuration Response.
    SystemTagConfiguration(SingleBlockResponse),
    /// 20: System Tag Download Response.
    SystemTagDownload(SystemTagDownloadResponse),
    /// 21: Service Key Generation Response.
    ServiceKeyGeneration(ResultCode),
    /// 22: MMS Configuration Response.
    MmsConfiguration(RawConfigurationResponse),
    /// 23: MMS Download Response.
    MmsDownload(BlockResults),
}

impl ReverseMessage {
    /// The OTASP_MSG_TYPE of this message.
    pub fn message_type(&self) -> MessageType {
        match self {
            ReverseMessage::Configuration(_) => MessageType::Configuration,
            ReverseMessage::Download(_) => MessageType::Download,
            ReverseMessage::MsKey(_) => MessageType::MsKey,
            ReverseMessage::KeyGeneration(_) => MessageType::KeyGeneration,
            ReverseMessage::ReAuthenticate(_) => MessageType::ReAuthenticate,
            ReverseMessage::Commit(_) => MessageType::Commit,
            ReverseMessage::ProtocolCapability(_) => MessageType::ProtocolCapability,
            ReverseMessage::SsprConfiguration(_) => MessageType::SsprConfiguration,
            ReverseMessage::SsprDownload(_) => MessageType::SsprDownload,
            ReverseMessage::Validation(_) => MessageType::Validation,
            ReverseMessage::Otapa(_) => MessageType::Otapa,
            ReverseMessage::PuzlConfiguration(_) => MessageType::PuzlConfiguration,
            ReverseMessage::PuzlDownload(_) => MessageType::PuzlDownload,
            ReverseMessage::ThreeGpdConfiguration(_) => MessageType::ThreeGpdConfiguration,
            ReverseMessage::ThreeGpdDownload(_) => MessageType::ThreeGpdDownload,
            ReverseMessage::SecureMode(_) => MessageType::SecureMode,
            ReverseMessage::ExtendedProtocolCapability(_) => {
                MessageType::ExtendedProtocolCapability
            }
            ReverseMessage::MmdConfiguration(_) => MessageType::MmdConfiguration,
            ReverseMessage::MmdDownload(_) => MessageType::MmdDownload,
            ReverseMessage::SystemTagConfiguration(_) => MessageType::SystemTagConfiguration,
            ReverseMessage::SystemTagDownload(_) => MessageType::SystemTagDownload,
            ReverseMessage::ServiceKeyGeneration(_) => MessageType::ServiceKeyGeneration,
            ReverseMessage::MmsConfiguration(_) => MessageType::MmsConfiguration,
            ReverseMessage::MmsDownload(_) => MessageType::MmsDownload,
        }
    }

    /// The single RESULT_CODE of a response that carries exactly one (MS Key, Key Generation,
    /// Commit, SSPR / PUZL / System Tag Configuration and Download, OTAPA, Secure Mode, Service
    /// Key Generation); `None` for the per-block and capability responses.
    pub fn result(&self) -> Option<ResultCode> {
        match self {
            ReverseMessage::MsKey(r)
            | ReverseMessage::Commit(r)
            | ReverseMessage::SecureMode(r)
            | ReverseMessage::ServiceKeyGeneration(r) => Some(*r),
            ReverseMessage::KeyGeneration(m) => Some(m.result),
            ReverseMessage::SsprConfiguration(m)
            | ReverseMessage::PuzlConfiguration(m)
            | ReverseMessage::SystemTagConfiguration(m) => Some(m.result),
            ReverseMessage::SsprDownload(m) => Some(m.result),
            ReverseMessage::Otapa(m) => Some(m.result),
            ReverseMessage::SystemTagDownload(m) => Some(m.result),
            _ => None,
        }
    }

    /// Decodes one reverse message. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(bytes);
        let code = r.u8("OTASP_MSG_TYPE", 8)?;
        let ty = MessageType::from_code(code).ok_or(Is683Error::UnknownMessageType(code))?;
        let r = &mut r;
        let msg = match ty {
            MessageType::Configuration => Self::Configuration(ConfigurationResponse::read(r)?),
            MessageType::Download => Self::Download(BlockResults::read(r)?),
            MessageType::MsKey => Self::MsKey(read_result(r)?),
            MessageType::KeyGeneration => {
                let result = read_result(r)?;
                let ms_result = read_len_prefixed(r, "MS_RESULT_LEN")?;
                Self::KeyGeneration(KeyGenerationResponse { result, ms_result })
            }
            MessageType::ReAuthenticate => Self::ReAuthenticate(ReAuthenticateResponse::read(r)?),
            MessageType::Commit => Self::Commit(read_result(r)?),
            MessageType::ProtocolCapability => {
                Self::ProtocolCapability(ProtocolCapabilityResponse::read(r)?)
            }
            MessageType::SsprConfiguration => {
                Self::SsprConfiguration(SingleBlockResponse::read(r)?)
            }
            MessageType::SsprDownload => Self::SsprDownload(SsprDownloadResponse {
                block_id: r.u8("BLOCK_ID", 8)?,
                result: read_result(r)?,
                segment_offset: r.u16("SEGMENT_OFFSET", 16)?,
                segment_size: r.u8("SEGMENT_SIZE", 8)?,
            }),
            MessageType::Validation => Self::Validation(BlockResults::read(r)?),
            MessageType::Otapa => {
                let result = read_result(r)?;
                r.skip("RESERVED", 7)?;
                let rand_otapa = if r.flag("NAM_LOCK_IND")? {
                    Some(r.u32("RAND_OTAPA", 32)?)
                } else {
                    None
                };
                Self::Otapa(OtapaResponse { result, rand_otapa })
            }
            MessageType::PuzlConfiguration => {
                Self::PuzlConfiguration(SingleBlockResponse::read(r)?)
            }
            MessageType::PuzlDownload => Self::PuzlDownload(PuzlDownloadResponse::read(r)?),
            MessageType::ThreeGpdConfiguration => {
                Self::ThreeGpdConfiguration(RawConfigurationResponse::read(r)?)
            }
            MessageType::ThreeGpdDownload => Self::ThreeGpdDownload(BlockResults::read(r)?),
            MessageType::SecureMode => Self::SecureMode(read_result(r)?),
            MessageType::ExtendedProtocolCapability => {
                Self::ExtendedProtocolCapability(ExtendedProtocolCapabilityResponse::read(r)?)
            }
            MessageType::MmdConfiguration => {
                Self::MmdConfiguration(RawConfigurationResponse::read(r)?)
            }
            MessageType::MmdDownload => Self::MmdDownload(BlockResults::read(r)?),
            MessageType::SystemTagConfiguration => {
                Self::SystemTagConfiguration(SingleBlockResponse::read(r)?)
            }
            MessageType::SystemTagDownload => {
                let block_id = r.u8("BLOCK_ID", 8)?;
                let result = read_result(r)?;
                let segment = if r.remaining() >= 8 {
                    Some(SegmentAck {
                        offset: r.u16("SEGMENT_OFFSET", 16)?,
                        size: r.u8("SEGMENT_SIZE", 8)?,
                    })
                } else {
                    None
                };
                Self::SystemTagDownload(SystemTagDownloadResponse {
                    block_id,
                    result,
                    segment,
                })
            }
            MessageType::ServiceKeyGeneration => Self::ServiceKeyGeneration(read_result(r)?),
            MessageType::MmsConfiguration => {
                Self::MmsConfiguration(RawConfigurationResponse::read(r)?)
            }
            MessageType::MmsDownload => Self::MmsDownload(BlockResults::read(r)?),
        };
        expect_end(r, ty.name())?;
        Ok(msg)
    }

    /// Encodes the message, rejecting values that do not fit their fields.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut w = BitWriter::new();
        w.write(u64::from(self.message_type().code()), 8);
        match self {
            Self::Configuration(m) => m.write(&mut w)?,
            Self::Download(m)
            | Self::Validation(m)
            | Self::ThreeGpdDownload(m)
            | Self::MmdDownload(m)
            | Self::MmsDownload(m) => m.write(&mut w)?,
            Self::MsKey(c)
            | Self::Commit(c)
            | Self::SecureMode(c)
            | Self::ServiceKeyGeneration(c) => put_result(&mut w, *c),
            Self::KeyGeneration(m) => {
                put_result(&mut w, m.result);
                put_len_prefixed(&mut w, "MS_RESULT_LEN", &m.ms_result)?;
            }
            Self::ReAuthenticate(m) => m.write(&mut w)?,
            Self::ProtocolCapability(m) => m.write(&mut w)?,
            Self::SsprConfiguration(m)
            | Self::PuzlConfiguration(m)
            | Self::SystemTagConfiguration(m) => m.write(&mut w)?,
            Self::SsprDownload(m) => {
                w.write(u64::from(m.block_id), 8);
                put_result(&mut w, m.result);
                w.write(u64::from(m.segment_offset), 16);
                w.write(u64::from(m.segment_size), 8);
            }
            Self::Otapa(m) => {
                put_result(&mut w, m.result);
                w.write(0, 7);
                w.flag(m.rand_otapa.is_some());
                if let Some(rand) = m.rand_otapa {
                    w.write(u64::from(rand), 32);
                }
            }
            Self::PuzlDownload(m) => m.write(&mut w)?,
            Self::ThreeGpdConfiguration(m)
            | Self::MmdConfiguration(m)
            | Self::MmsConfiguration(m) => m.write(&mut w)?,
            Self::ExtendedProtocolCapability(m) => m.write(&mut w)?,
            Self::SystemTagDownload(m) => {
                w.write(u64::from(m.block_id), 8);
                put_result(&mut w, m.result);
                if let Some(s) = m.segment {
                    w.write(u64::from(s.offset), 16);
                    w.write(u64::from(s.size), 8);
                }
            }
        }
        Ok(w.finish())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::is683::blocks::BlockResult;
    use crate::is683::nam::{ImsiParams, Mdn};

    fn round_trip(msg: &ReverseMessage, bytes: &[u8]) {
        assert_eq!(msg.encode().unwrap(), bytes, "encoding {msg:?}");
        assert_eq!(&ReverseMessage::decode(bytes).unwrap(), msg);
    }

    #[test]
    fn single_result_responses() {
        round_trip(&ReverseMessage::Commit(ResultCode::Accepted), &[0x05, 0x00]);
        round_trip(&ReverseMessage::MsKey(ResultCode::from(200)), &[0x02, 200]);
        round_trip(
            &ReverseMessage::SecureMode(ResultCode::InvalidParameter),
            &[0x0F, 0x04],
        );
        round_trip(
            &ReverseMessage::ServiceKeyGeneration(ResultCode::RejectedUnknown),
            &[0x15, 0x01],
        );
        assert_eq!(
            ReverseMessage::Commit(ResultCode::CrcError).result(),
            Some(ResultCode::CrcError)
        );
    }

    #[test]
    fn download_and_validation_responses() {
        let results = BlockResults {
            results: vec![
                BlockResult {
                    block_id: 0,
                    result: ResultCode::Accepted,
                },
                BlockResult {
                    block_id: 1,
                    result: ResultCode::InvalidSpc,
                },
            ],
        };
        round_trip(
            &ReverseMessage::Validation(results.clone()),
            &[0x09, 0x02, 0x00, 0x00, 0x01, 0x0B],
        );
        round_trip(
            &ReverseMessage::Download(results),
            &[0x01, 0x02, 0x00, 0x00, 0x01, 0x0B],
        );
    }

    #[test]
    fn configuration_response_puts_results_after_blocks() {
        let msg = ReverseMessage::Configuration(ConfigurationResponse {
            blocks: vec![
                ConfiguredNamBlock {
                    block: NamConfigBlock::Mdn(Mdn::new("12").unwrap()),
                    result: ResultCode::Accepted,
                },
                ConfiguredNamBlock {
                    block: NamConfigBlock::ImsiT(ImsiParams::default()),
                    result: ResultCode::BlockIdNotSupported,
                },
            ],
            fresh: None,
        });
        let bytes = msg.encode().unwrap();
        // type, NUM_BLOCKS, block 1 (id, len 2, 0x21 0x20), block 3 (id, len 7, 7 zeros),
        // then the two results.
        let mut expected = vec![0x00, 0x02, 0x01, 0x02, 0x21, 0x20, 0x03, 0x07];
        expected.extend([0; 7]);
        expected.extend([0x00, 0x07]);
        assert_eq!(bytes, expected);
        assert_eq!(ReverseMessage::decode(&bytes).unwrap(), msg);
    }

    #[test]
    fn fixed_layout_responses() {
        // AUTHR 0x3FFFF, RANDC 0xAB, COUNT 0x15, AUTH_DATA 0x123456:
        // 11 1111 1111 1111 1111 | 1010 1011 | 01 0101 | 0001 0010 0011 0100 0101 0110
        round_trip(
            &ReverseMessage::ReAuthenticate(ReAuthenticateResponse {
                authr: 0x3FFFF,
                randc: 0xAB,
                count: 0x15,
                auth_data: 0x123456,
            }),
            &[0x04, 0xFF, 0xFF, 0xEA, 0xD5, 0x12, 0x34, 0x56],
        );
        round_trip(
            &ReverseMessage::Otapa(OtapaResponse {
                result: ResultCode::Accepted,
                rand_otapa: Some(0xCAFEBABE),
            }),
            &[0x0A, 0x00, 0x01, 0xCA, 0xFE, 0xBA, 0xBE],
        );
        round_trip(
            &ReverseMessage::Otapa(OtapaResponse {
                result: ResultCode::Accepted,
                rand_otapa: None,
            }),
            &[0x0A, 0x00, 0x00],
        );
        round_trip(
            &ReverseMessage::SsprDownload(SsprDownloadResponse {
                block_id: 1,
                result: ResultCode::CrcError,
                segment_offset: 0x0200,
                segment_size: 0x20,
            }),
            &[0x08, 0x01, 0x09, 0x02, 0x00, 0x20],
        );
        round_trip(
            &ReverseMessage::ProtocolCapability(ProtocolCapabilityResponse {
                mob_firm_rev: 0x0102,
                mob_model: 7,
                features: vec![Feature {
                    feature_id: Feature::SSPR,
                    feature_p_rev: 3,
                }],
                additional_fields: vec![ProtocolCapabilityResponse::BAND_CLASS_1_CDMA],
            }),
            &[0x06, 0x01, 0x02, 0x07, 0x01, 0x02, 0x03, 0x01, 0x20],
        );
        round_trip(
            &ReverseMessage::PuzlDownload(PuzlDownloadResponse {
                blocks: vec![
                    PuzlBlockResult {
                        block_id: 0,
                        result: ResultCode::Accepted,
                        user_zone: Some(UserZone {
                            uz_id: 0x1234,
                            uz_sid: 0x7FFF,
                        }),
                    },
                    PuzlBlockResult {
                        block_id: 2,
                        result: ResultCode::UserZoneNotInPuzl,
                        user_zone: None,
                    },
                ],
            }),
            &[
                0x0C, 0x02, 0x00, 0x00, 0x89, 0x1A, 0x7F, 0xFF, 0x02, 0x10, 0x00,
            ],
        );
    }

    #[test]
    fn errors() {
        assert!(matches!(
            ReverseMessage::decode(&[24]),
            Err(Is683Error::UnknownMessageType(24))
        ));
        assert!(matches!(
            ReverseMessage::decode(&[0x05, 0x00, 0x00]),
            Err(Is683Error::TrailingBytes { octets: 1, .. })
        ));
        assert!(matches!(
            ReverseMessage::decode(&[0x07, 0x01, 0x00, 0x09, 0x00]),
            Err(Is683Error::BlockLength {
                block_id: 1,
                declared: 9,
                available: 1
            })
        ));
        let e = ReverseMessage::ReAuthenticate(ReAuthenticateResponse {
            authr: 1 << 18,
            ..ReAuthenticateResponse::default()
        })
        .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange { field: "AUTHR", .. })
        ));
        let e = ReverseMessage::PuzlDownload(PuzlDownloadResponse {
            blocks: vec![PuzlBlockResult {
                block_id: 0,
                result: ResultCode::Accepted,
                user_zone: Some(UserZone {
                    uz_id: 0,
                    uz_sid: 0x8000,
                }),
            }],
        })
        .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange {
                field: "UZ_SID",
                ..
            })
        ));
    }
}
