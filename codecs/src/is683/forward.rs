//! Forward messages (base station / OTAF -> mobile), C.S0016 section 4.5.1. Field widths in bits:
//!
//! | code | message | fields |
//! |---|---|---|
//! | 0 | Configuration Request | NUM_BLOCKS 8, BLOCK_ID 8 x N ([`BlockIdList`]) |
//! | 1 | Download Request | NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA} x N, [FRESH] ([`DownloadRequest`], NAM blocks) |
//! | 2 | MS Key Request | A_KEY_P_REV 8, if <= 2: PARAM_P_LEN 8, PARAM_P, PARAM_G_LEN 8, PARAM_G |
//! | 3 | Key Generation Request | BS_RESULT_LEN 8, BS_RESULT |
//! | 4 | Re-Authenticate Request | RAND 32 |
//! | 5 | Commit Request | (none) |
//! | 6 | Protocol Capability Request | [OTASP_P_REV 8, NUM_CAP_RECORDS 8, RECORD_TYPE 8 x N] |
//! | 7 | SSPR Configuration Request | BLOCK_ID 8, if 1 (PRL): REQUEST_OFFSET 16, REQUEST_MAX_SIZE 8 |
//! | 8 | SSPR Download Request | BLOCK_ID 8, BLOCK_LEN 8, RESERVED 7, LAST_SEGMENT 1, SEGMENT_OFFSET 16, SEGMENT_SIZE 8, SEGMENT_DATA, [FRESH] |
//! | 9 | Validation Request | NUM_BLOCKS 8, {BLOCK_ID 8, BLOCK_LEN 8, data} x N (Verify SPC, Change SPC, Validate SPASM) |
//! | 10 | OTAPA Request | START_STOP 1, RESERVED 7 |
//! | 11 | PUZL Configuration Request | BLOCK_ID 8, request parameters (raw) |
//! | 12, 14, 18, 23 | PUZL / 3GPD / MMD / MMS Download Request | as Download Request, blocks raw ([`BlockDownloadRequest`]) |
//! | 13, 17, 22 | 3GPD / MMD / MMS Configuration Request | as Configuration Request ([`BlockIdList`]) |
//! | 15 | Secure Mode Request | START_STOP 1, KEY_IN_USE 4, RESERVED 3, [RAND_SM 64 when starting] |
//! | 19 | System Tag Configuration Request | BLOCK_ID 8, [SEGMENT_OFFSET 16, SEGMENT_SIZE 8] |
//! | 20 | System Tag Download Request | BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA (raw), [FRESH] |
//! | 21 | Service Key Generation Request | KEY_ID 12, RESERVED 4 |
//!
//! FRESH is the optional trailer FRESH_INCL 1 + (FRESH 15 | RESERVED 7).

use super::blocks::{
    build_block, parse_block, read_block_data, read_counted, write_block, write_counted,
    BlockDownloadRequest, BlockIdList, RawBlock, SegmentRequest,
};
use super::nam::NamDownloadBlock;
use super::{
    expect_end, octet_count, put, put_fresh, put_len_prefixed, read_fresh, read_len_prefixed,
    read_octets, Is683Error, MessageType, Result,
};
use crate::bits::{BitReader, BitWriter};

/// Download Request: NAM parameter blocks to write, and an optional FRESH.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DownloadRequest {
    /// The blocks (at most 255).
    pub blocks: Vec<NamDownloadBlock>,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

impl DownloadRequest {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", |r| {
            NamDownloadBlock::from_block(RawBlock::read(r)?)
        })?;
        let fresh = read_fresh(r)?;
        Ok(Self { blocks, fresh })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| b.to_block()?.write(w))?;
        put_fresh(w, self.fresh)
    }
}

/// The Diffie-Hellman parameters of a 2G A-key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyExchangeParams {
    /// PARAM_P (at most 255 octets).
    pub param_p: Vec<u8>,
    /// PARAM_G (at most 255 octets).
    pub param_g: Vec<u8>,
}

/// MS Key Request: start an A-key / root key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MsKeyRequest {
    /// A_KEY_P_REV: 2 = 2G A-key, 3 = 2G A-key + 3G root key, 4 = 3G root key, 5 = enhanced.
    pub a_key_p_rev: u8,
    /// PARAM_P / PARAM_G: present exactly when A_KEY_P_REV <= 2.
    pub params: Option<KeyExchangeParams>,
}

impl MsKeyRequest {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let a_key_p_rev = r.u8("A_KEY_P_REV", 8)?;
        let params = if a_key_p_rev <= 2 {
            let param_p = read_len_prefixed(r, "PARAM_P_LEN")?;
            let param_g = read_len_prefixed(r, "PARAM_G_LEN")?;
            Some(KeyExchangeParams { param_p, param_g })
        } else {
            None
        };
        Ok(Self {
            a_key_p_rev,
            params,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.write(u64::from(self.a_key_p_rev), 8);
        match (&self.params, self.a_key_p_rev <= 2) {
            (Some(p), true) => {
                put_len_prefixed(w, "PARAM_P_LEN", &p.param_p)?;
                put_len_prefixed(w, "PARAM_G_LEN", &p.param_g)
            }
            (None, false) => Ok(()),
            (Some(_), false) => Err(Is683Error::Inconsistent {
                field: "PARAM_P",
                reason: "present only when A_KEY_P_REV <= 2",
            }),
            (None, true) => Err(Is683Error::Inconsistent {
                field: "PARAM_P",
                reason: "required when A_KEY_P_REV <= 2",
            }),
        }
    }
}

/// Key Generation Request: the base station's half of the key exchange.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct KeyGenerationRequest {
    /// BS_RESULT (at most 255 octets).
    pub bs_result: Vec<u8>,
}

/// Re-Authenticate Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReAuthenticateRequest {
    /// RAND (32 bits): the random challenge.
    pub rand: u32,
}

/// What a Protocol Capability Request asks for beyond the basic response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CapabilityQuery {
    /// OTASP_P_REV of the base station.
    pub otasp_p_rev: u8,
    /// RECORD_TYPEs requested (0 operating mode, 1 band class, 2 MEID, 3 ICCID, 4 EXT_UIM_ID,
    /// 5 MEID_ME); at most 255.
    pub record_types: Vec<u8>,
}

/// Protocol Capability Request. Without a query the mobile answers with a Protocol Capability
/// Response; with one, with an Extended Protocol Capability Response.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ProtocolCapabilityRequest {
    /// OTASP_P_REV and the capability records wanted, if sent.
    pub query: Option<CapabilityQuery>,
}

impl ProtocolCapabilityRequest {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        if r.remaining() < 8 {
            return Ok(Self { query: None });
        }
        let otasp_p_rev = r.u8("OTASP_P_REV", 8)?;
        let record_types = read_counted(r, "NUM_CAP_RECORDS", |r| Ok(r.u8("RECORD_TYPE", 8)?))?;
        Ok(Self {
            query: Some(CapabilityQuery {
                otasp_p_rev,
                record_types,
            }),
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        if let Some(q) = &self.query {
            w.write(u64::from(q.otasp_p_rev), 8);
            write_counted(w, "NUM_CAP_RECORDS", &q.record_types, |w, t| {
                w.write(u64::from(*t), 8);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// SSPR Configuration Request: read back PRL dimensions (block 0 / 2) or a PRL segment
/// (block 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SsprConfigurationRequest {
    /// BLOCK_ID: 0 PRL dimensions, 1 PRL, 2 extended PRL dimensions.
    pub block_id: u8,
    /// REQUEST_OFFSET / REQUEST_MAX_SIZE: present exactly when BLOCK_ID is 1.
    pub segment: Option<SegmentRequest>,
}

impl SsprConfigurationRequest {
    /// BLOCK_ID of the PRL itself, the one block read back in segments.
    pub const BLOCK_PRL: u8 = 1;

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let block_id = r.u8("BLOCK_ID", 8)?;
        let segment = if block_id == Self::BLOCK_PRL {
            Some(SegmentRequest::read(r)?)
        } else {
            None
        };
        Ok(Self { block_id, segment })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.write(u64::from(self.block_id), 8);
        match (self.segment, self.block_id == Self::BLOCK_PRL) {
            (Some(s), true) => {
                s.write(w);
                Ok(())
            }
            (None, false) => Ok(()),
            (Some(_), false) => Err(Is683Error::Inconsistent {
                field: "REQUEST_OFFSET",
                reason: "present only when BLOCK_ID is 1 (PRL)",
            }),
            (None, true) => Err(Is683Error::Inconsistent {
                field: "REQUEST_OFFSET",
                reason: "required when BLOCK_ID is 1 (PRL)",
            }),
        }
    }
}

/// SSPR Download Request: one segment of a PRL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SsprDownloadRequest {
    /// BLOCK_ID: 0 PRL, 1 extended PRL.
    pub block_id: u8,
    /// LAST_SEGMENT: this segment ends the PRL.
    pub last_segment: bool,
    /// SEGMENT_OFFSET: octet offset of this segment in the PRL.
    pub segment_offset: u16,
    /// SEGMENT_DATA (SEGMENT_SIZE = its length, at most [`Self::MAX_SEGMENT_DATA`]).
    pub segment_data: Vec<u8>,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

impl SsprDownloadRequest {
    /// The most PRL octets one segment can carry: BLOCK_LEN (255) less the 4 header octets.
    pub const MAX_SEGMENT_DATA: usize = 251;

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let block_id = r.u8("BLOCK_ID", 8)?;
        let data = read_block_data(r, block_id)?;
        let (last_segment, segment_offset, segment_data) =
            parse_block(&data, "SSPR Download PARAM_DATA", |r| {
                r.skip("RESERVED", 7)?;
                let last = r.flag("LAST_SEGMENT")?;
                let offset = r.u16("SEGMENT_OFFSET", 16)?;
                let size = r.u8("SEGMENT_SIZE", 8)?;
                let seg = read_octets(r, "SEGMENT_SIZE", usize::from(size))?;
                Ok((last, offset, seg))
            })?;
        let fresh = read_fresh(r)?;
        Ok(Self {
            block_id,
            last_segment,
            segment_offset,
            segment_data,
            fresh,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        let size = octet_count("SEGMENT_SIZE", self.segment_data.len())?;
        let data = build_block(|b| {
            b.write(0, 7);
            b.flag(self.last_segment);
            b.write(u64::from(self.segment_offset), 16);
            b.write(u64::from(size), 8);
            b.bytes(&self.segment_data);
            Ok(())
        })?;
        write_block(w, self.block_id, &data)?;
        put_fresh(w, self.fresh)
    }
}

/// A service programming code: 6 decimal digits, sent as BCD in 24 bits, first digit in the
/// most significant nibble ("123456" -> 0x12 0x34 0x56).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Spc([u8; 6]);

impl Spc {
    /// An SPC from its 6 digits.
    pub fn new(digits: &str) -> Result<Self> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for c in digits.chars() {
            let d = c.to_digit(10).ok_or(Is683Error::InvalidDigit {
                field: "SPC",
                digit: c,
            })?;
            if n < 6 {
                out[n] = d as u8;
            }
            n += 1;
        }
        if n != 6 {
            return Err(Is683Error::DigitCount {
                field: "SPC",
                expected: 6,
                found: n,
            });
        }
        Ok(Self(out))
    }

    /// The digits as text.
    pub fn digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let mut out = [0u8; 6];
        for d in &mut out {
            let code = r.u8("SPC", 4)?;
            if code > 9 {
                return Err(Is683Error::InvalidDigitCode { field: "SPC", code });
            }
            *d = code;
        }
        Ok(Self(out))
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        // The digits are 0-9 by construction (`new` and `read` check them).
        for d in self.0 {
            put(w, "SPC", u64::from(d), 4)?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Spc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.digits())
    }
}

/// Validate SPASM block: AUTH_OTAPA_INCL 1, [AUTH_OTAPA 18], NAM_LOCK 1, pad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SpasmValidation {
    /// AUTH_OTAPA (18 bits), the SPASM signature, if included.
    pub auth_otapa: Option<u32>,
    /// NAM_LOCK: SPASM protection for the active NAM in later OTAPA sessions.
    pub nam_lock: bool,
}

impl SpasmValidation {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let auth_otapa = if r.flag("AUTH_OTAPA_INCL")? {
            Some(r.u32("AUTH_OTAPA", 18)?)
        } else {
            None
        };
        let nam_lock = r.flag("NAM_LOCK")?;
        Ok(Self {
            auth_otapa,
            nam_lock,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.flag(self.auth_otapa.is_some());
        if let Some(a) = self.auth_otapa {
            put(w, "AUTH_OTAPA", u64::from(a), 18)?;
        }
        w.flag(self.nam_lock);
        Ok(())
    }
}

/// A Validation Request parameter block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValidationBlock {
    /// Block 0: Verify SPC.
    VerifySpc(Spc),
    /// Block 1: Change SPC.
    ChangeSpc(Spc),
    /// Block 2: Validate SPASM.
    ValidateSpasm(SpasmValidation),
    /// Any other BLOCK_ID (3 and up), kept as octets.
    Other(RawBlock),
}

impl ValidationBlock {
    /// The BLOCK_ID of this block.
    pub fn block_id(&self) -> u8 {
        match self {
            ValidationBlock::VerifySpc(_) => 0,
            ValidationBlock::ChangeSpc(_) => 1,
            ValidationBlock::ValidateSpasm(_) => 2,
            ValidationBlock::Other(b) => b.block_id,
        }
    }

    fn from_block(block: RawBlock) -> Result<Self> {
        let data = &block.data;
        Ok(match block.block_id {
            0 => Self::VerifySpc(parse_block(data, "Verify SPC block", Spc::read)?),
            1 => Self::ChangeSpc(parse_block(data, "Change SPC block", Spc::read)?),
            2 => Self::ValidateSpasm(parse_block(
                data,
                "Validate SPASM block",
                SpasmValidation::read,
            )?),
            _ => Self::Other(block),
        })
    }

    fn to_block(&self) -> Result<RawBlock> {
        let data = match self {
            ValidationBlock::VerifySpc(s) | ValidationBlock::ChangeSpc(s) => {
                build_block(|w| s.write(w))?
            }
            ValidationBlock::ValidateSpasm(v) => build_block(|w| v.write(w))?,
            ValidationBlock::Other(b) => {
                if b.block_id <= 2 {
                    return Err(Is683Error::Inconsistent {
                        field: "BLOCK_ID",
                        reason: "validation blocks 0-2 must use their typed variants, not Other",
                    });
                }
                return Ok(b.clone());
            }
        };
        Ok(RawBlock::new(self.block_id(), data))
    }
}

/// Validation Request: SPC / SPASM blocks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ValidationRequest {
    /// The blocks (at most 255).
    pub blocks: Vec<ValidationBlock>,
}

impl ValidationRequest {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let blocks = read_counted(r, "NUM_BLOCKS", |r| {
            ValidationBlock::from_block(RawBlock::read(r)?)
        })?;
        Ok(Self { blocks })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        write_counted(w, "NUM_BLOCKS", &self.blocks, |w, b| b.to_block()?.write(w))
    }
}

/// OTAPA Request: START_STOP 1, RESERVED 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OtapaRequest {
    /// START_STOP: true starts an OTAPA session, false ends it.
    pub start: bool,
}

/// PUZL Configuration Request. is683.md gives no layout; C.S0016 (and Wireshark) read it as one
/// BLOCK_ID followed by block-specific request fields, matching the single-block PUZL
/// Configuration Response, so the request fields are kept as raw octets here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PuzlConfigurationRequest {
    /// BLOCK_ID: 0 PUZL dimensions, 1 priorities, 2 user zone, 3 PUZL.
    pub block_id: u8,
    /// The block-specific request fields that follow BLOCK_ID, as octets.
    pub params: Vec<u8>,
}

/// Secure Mode Request: START_STOP 1, KEY_IN_USE 4, RESERVED 3, [RAND_SM 64].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SecureModeRequest {
    /// KEY_IN_USE (4 bits): 0 SMCK from SSD, 1 SMCK from the 3G root key.
    pub key_in_use: u8,
    /// RAND_SM: `Some` starts secure mode (START_STOP = 1, RAND_SM sent); `None` stops it.
    pub rand_sm: Option<u64>,
}

impl SecureModeRequest {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let start = r.flag("START_STOP")?;
        let key_in_use = r.u8("KEY_IN_USE", 4)?;
        r.skip("RESERVED", 3)?;
        let rand_sm = if start {
            Some(r.read("RAND_SM", 64)?)
        } else {
            None
        };
        Ok(Self {
            key_in_use,
            rand_sm,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.flag(self.rand_sm.is_some());
        put(w, "KEY_IN_USE", u64::from(self.key_in_use), 4)?;
        w.write(0, 3);
        if let Some(rand) = self.rand_sm {
            w.write(rand, 64);
        }
        Ok(())
    }
}

/// System Tag Configuration Request: BLOCK_ID 8, [SEGMENT_OFFSET 16, SEGMENT_SIZE 8] (the
/// segment is present when the octets are).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemTagConfigurationRequest {
    /// BLOCK_ID of the system tag block wanted.
    pub block_id: u8,
    /// Which segment of a tag list to read, if any.
    pub segment: Option<SegmentRequest>,
}

/// System Tag Download Request. is683.md gives no layout; like SSPR Download (and as C.S0016 and
/// Wireshark have it) it carries one block, BLOCK_ID 8, BLOCK_LEN 8, PARAM_DATA, then [FRESH].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SystemTagDownloadRequest {
    /// The block (data kept as octets).
    pub block: RawBlock,
    /// FRESH (15 bits).
    pub fresh: Option<u16>,
}

/// Service Key Generation Request: KEY_ID 12, RESERVED 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceKeyGenerationRequest {
    /// KEY_ID (12 bits, a bit mask): [`Self::KEY_IMS`], [`Self::KEY_BCMCS`], [`Self::KEY_WLAN`].
    pub key_id: u16,
}

impl ServiceKeyGenerationRequest {
    /// KEY_ID bit: IMS root key.
    pub const KEY_IMS: u16 = 0x800;
    /// KEY_ID bit: BCMCS root key.
    pub const KEY_BCMCS: u16 = 0x400;
    /// KEY_ID bit: WLAN root key.
    pub const KEY_WLAN: u16 = 0x200;
}

/// A forward-link (base station -> mobile) IS-683 message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardMessage {
    /// 0: Configuration Request (NAM block ids).
    Configuration(BlockIdList),
    /// 1: Download Request.
    Download(DownloadRequest),
    /// 2: MS Key Request.
    MsKey(MsKeyRequest),
    /// 3: Key Generation Request.
    KeyGeneration(KeyGenerationRequest),
    /// 4: Re-Authenticate Request.
    ReAuthenticate(ReAuthenticateRequest),
    /// 5: Commit Request.
    Commit,
    /// 6: Protocol Capability Request.
    ProtocolCapability(ProtocolCapabilityRequest),
    /// 7: SSPR Configuration Request.
    SsprConfiguration(SsprConfigurationRequest),
    /// 8: SSPR Download Request.
    SsprDownload(SsprDownloadRequest),
    /// 9: Validation Request.
    Validation(ValidationRequest),
    /// 10: OTAPA Request.
    Otapa(OtapaRequest),
    /// 11: PUZL Configuration Request.
    PuzlConfiguration(PuzlConfigurationRequest),
    /// 12: PUZL Download Request.
    PuzlDownload(BlockDownloadRequest),
    /// 13: 3GPD Configuration Request.
    ThreeGpdConfiguration(BlockIdList),
    /// 14: 3GPD Download Request.
    ThreeGpdDownload(BlockDownloadRequest),
    /// 15: Secure Mode Request.
    SecureMode(SecureModeRequest),
    /// 17: MMD Configuration Request.
    MmdConfiguration(BlockIdList),
    /// 18: MMD Download Request.
    MmdDownload(BlockDownloadRequest),
    /// 19: System Tag Configuration Request.
    SystemTagConfiguration(SystemTagConfigurationRequest),
    /// 20: System Tag Download Request.
    SystemTagDownload(SystemTagDownloadRequest),
    /// 21: Service Key Generation Request.
    ServiceKeyGeneration(ServiceKeyGenerationRequest),
    /// 22: MMS Configuration Request.
    MmsConfiguration(BlockIdList),
    /// 23: MMS Download Request.
    MmsDownload(BlockDownloadRequest),
}

impl ForwardMessage {
    /// The OTASP_MSG_TYPE of this message.
    pub fn message_type(&self) -> MessageType {
        match self {
            ForwardMessage::Configuration(_) => MessageType::Configuration,
            ForwardMessage::Download(_) => MessageType::Download,
            ForwardMessage::MsKey(_) => MessageType::MsKey,
            ForwardMessage::KeyGeneration(_) => MessageType::KeyGeneration,
            ForwardMessage::ReAuthenticate(_) => MessageType::ReAuthenticate,
            ForwardMessage::Commit => MessageType::Commit,
            ForwardMessage::ProtocolCapability(_) => MessageType::ProtocolCapability,
            ForwardMessage::SsprConfiguration(_) => MessageType::SsprConfiguration,
            ForwardMessage::SsprDownload(_) => MessageType::SsprDownload,
            ForwardMessage::Validation(_) => MessageType::Validation,
            ForwardMessage::Otapa(_) => MessageType::Otapa,
            ForwardMessage::PuzlConfiguration(_) => MessageType::PuzlConfiguration,
            ForwardMessage::PuzlDownload(_) => MessageType::PuzlDownload,
            ForwardMessage::ThreeGpdConfiguration(_) => MessageType::ThreeGpdConfiguration,
            ForwardMessage::ThreeGpdDownload(_) => MessageType::ThreeGpdDownload,
            ForwardMessage::SecureMode(_) => MessageType::SecureMode,
            ForwardMessage::MmdConfiguration(_) => MessageType::MmdConfiguration,
            ForwardMessage::MmdDownload(_) => MessageType::MmdDownload,
            ForwardMessage::SystemTagConfiguration(_) => MessageType::SystemTagConfiguration,
            ForwardMessage::SystemTagDownload(_) => MessageType::SystemTagDownload,
            ForwardMessage::ServiceKeyGeneration(_) => MessageType::ServiceKeyGeneration,
            ForwardMessage::MmsConfiguration(_) => MessageType::MmsConfiguration,
            ForwardMessage::MmsDownload(_) => MessageType::MmsDownload,
        }
    }

    /// Decodes one forward message. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut r = BitReader::new(bytes);
        let code = r.u8("OTASP_MSG_TYPE", 8)?;
        let ty = match MessageType::from_code(code) {
            Some(MessageType::ExtendedProtocolCapability) | None => {
                return Err(Is683Error::UnknownMessageType(code))
            }
            Some(t) => t,
        };
        let r = &mut r;
        let msg = match ty {
            MessageType::Configuration => Self::Configuration(BlockIdList::read(r)?),
            MessageType::Download => Self::Download(DownloadRequest::read(r)?),
            MessageType::MsKey => Self::MsKey(MsKeyRequest::read(r)?),
            MessageType::KeyGeneration => Self::KeyGeneration(KeyGenerationRequest {
                bs_result: read_len_prefixed(r, "BS_RESULT_LEN")?,
            }),
            MessageType::ReAuthenticate => Self::ReAuthenticate(ReAuthenticateRequest {
                rand: r.u32("RAND", 32)?,
            }),
            MessageType::Commit => Self::Commit,
            MessageType::ProtocolCapability => {
                Self::ProtocolCapability(ProtocolCapabilityRequest::read(r)?)
            }
            MessageType::SsprConfiguration => {
                Self::SsprConfiguration(SsprConfigurationRequest::read(r)?)
            }
            MessageType::SsprDownload => Self::SsprDownload(SsprDownloadRequest::read(r)?),
            MessageType::Validation => Self::Validation(ValidationRequest::read(r)?),
            MessageType::Otapa => {
                let start = r.flag("START_STOP")?;
                r.skip("RESERVED", 7)?;
                Self::Otapa(OtapaRequest { start })
            }
            MessageType::PuzlConfiguration => {
                let block_id = r.u8("BLOCK_ID", 8)?;
                let n = r.remaining() / 8;
                let params = r.bytes("PUZL request parameters", n)?;
                Self::PuzlConfiguration(PuzlConfigurationRequest { block_id, params })
            }
            MessageType::PuzlDownload => Self::PuzlDownload(BlockDownloadRequest::read(r)?),
            MessageType::ThreeGpdConfiguration => {
                Self::ThreeGpdConfiguration(BlockIdList::read(r)?)
            }
            MessageType::ThreeGpdDownload => Self::ThreeGpdDownload(BlockDownloadRequest::read(r)?),
            MessageType::SecureMode => Self::SecureMode(SecureModeRequest::read(r)?),
            MessageType::MmdConfiguration => Self::MmdConfiguration(BlockIdList::read(r)?),
            MessageType::MmdDownload => Self::MmdDownload(BlockDownloadRequest::read(r)?),
            MessageType::SystemTagConfiguration => {
                let block_id = r.u8("BLOCK_ID", 8)?;
                let segment = if r.remaining() >= 8 {
                    Some(SegmentRequest::read(r)?)
                } else {
                    None
                };
                Self::SystemTagConfiguration(SystemTagConfigurationRequest { block_id, segment })
            }
            MessageType::SystemTagDownload => {
                let block = RawBlock::read(r)?;
                let fresh = read_fresh(r)?;
                Self::SystemTagDownload(SystemTagDownloadRequest { block, fresh })
            }
            MessageType::ServiceKeyGeneration => {
                let key_id = r.u16("KEY_ID", 12)?;
                r.skip("RESERVED", 4)?;
                Self::ServiceKeyGeneration(ServiceKeyGenerationRequest { key_id })
            }
            MessageType::MmsConfiguration => Self::MmsConfiguration(BlockIdList::read(r)?),
            MessageType::MmsDownload => Self::MmsDownload(BlockDownloadRequest::read(r)?),
            MessageType::ExtendedProtocolCapability => {
                return Err(Is683Error::UnknownMessageType(code))
            }
        };
        expect_end(r, ty.name())?;
        Ok(msg)
    }

    /// Encodes the message, rejecting values that do not fit their fields.
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut w = BitWriter::new();
        w.write(u64::from(self.message_type().code()), 8);
        let w = &mut w;
        match self {
            Self::Configuration(m)
            | Self::ThreeGpdConfiguration(m)
            | Self::MmdConfiguration(m)
            | Self::MmsConfiguration(m) => m.write(w)?,
            Self::Download(m) => m.write(w)?,
            Self::MsKey(m) => m.write(w)?,
            Self::KeyGeneration(m) => put_len_prefixed(w, "BS_RESULT_LEN", &m.bs_result)?,
            Self::ReAuthenticate(m) => w.write(u64::from(m.rand), 32),
            Self::Commit => {}
            Self::ProtocolCapability(m) => m.write(w)?,
            Self::SsprConfiguration(m) => m.write(w)?,
            Self::SsprDownload(m) => m.write(w)?,
            Self::Validation(m) => m.write(w)?,
            Self::Otapa(m) => {
                w.flag(m.start);
                w.write(0, 7);
            }
            Self::PuzlConfiguration(m) => {
                w.write(u64::from(m.block_id), 8);
                w.bytes(&m.params);
            }
            Self::PuzlDownload(m)
            | Self::ThreeGpdDownload(m)
            | Self::MmdDownload(m)
            | Self::MmsDownload(m) => m.write(w)?,
            Self::SecureMode(m) => m.write(w)?,
            Self::SystemTagConfiguration(m) => {
                w.write(u64::from(m.block_id), 8);
                if let Some(s) = m.segment {
                    s.write(w);
                }
            }
            Self::SystemTagDownload(m) => {
                m.block.write(w)?;
                put_fresh(w, m.fresh)?;
            }
            Self::ServiceKeyGeneration(m) => {
                put(w, "KEY_ID", u64::from(m.key_id), 12)?;
                w.write(0, 4);
            }
        }
        Ok(std::mem::take(w).finish())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::is683::nam::{Mdn, NamDownloadBlock};

    fn round_trip(msg: &ForwardMessage, bytes: &[u8]) {
        assert_eq!(msg.encode().unwrap(), bytes, "encoding {msg:?}");
        assert_eq!(&ForwardMessage::decode(bytes).unwrap(), msg);
    }

    #[test]
    fn commit_request() {
        round_trip(&ForwardMessage::Commit, &[0x05]);
        assert!(matches!(
            ForwardMessage::decode(&[0x05, 0x00]),
            Err(Is683Error::TrailingBytes { octets: 1, .. })
        ));
    }

    #[test]
    fn protocol_capability_request() {
        round_trip(
            &ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest::default()),
            &[0x06],
        );
        // OTASP_P_REV 4, two records: band class (1) and MEID (2).
        round_trip(
            &ForwardMessage::ProtocolCapability(ProtocolCapabilityRequest {
                query: Some(CapabilityQuery {
                    otasp_p_rev: 4,
                    record_types: vec![1, 2],
                }),
            }),
            &[0x06, 0x04, 0x02, 0x01, 0x02],
        );
    }

    #[test]
    fn sspr_download_request_segment() {
        // BLOCK_ID 1 (extended PRL), BLOCK_LEN 7, RESERVED 0000000 + LAST_SEGMENT 1 = 0x01,
        // SEGMENT_OFFSET 0x0100, SEGMENT_SIZE 3, data AA BB CC, FRESH 0x1234 -> 0x9234.
        round_trip(
            &ForwardMessage::SsprDownload(SsprDownloadRequest {
                block_id: 1,
                last_segment: true,
                segment_offset: 0x0100,
                segment_data: vec![0xAA, 0xBB, 0xCC],
                fresh: Some(0x1234),
            }),
            &[
                0x08, 0x01, 0x07, 0x01, 0x01, 0x00, 0x03, 0xAA, 0xBB, 0xCC, 0x92, 0x34,
            ],
        );
        // SEGMENT_SIZE larger than the block: a length error.
        assert!(matches!(
            ForwardMessage::decode(&[0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x09, 0xAA]),
            Err(Is683Error::Length {
                declared: 9,
                available: 1,
                ..
            })
        ));
        let too_big = ForwardMessage::SsprDownload(SsprDownloadRequest {
            segment_data: vec![0; 252],
            ..SsprDownloadRequest::default()
        });
        assert!(matches!(
            too_big.encode(),
            Err(Is683Error::FieldOutOfRange {
                field: "BLOCK_LEN",
                ..
            })
        ));
    }

    #[test]
    fn validation_request_spc() {
        // Verify SPC 000000, then Change SPC 123456 (BCD, first digit high nibble).
        round_trip(
            &ForwardMessage::Validation(ValidationRequest {
                blocks: vec![
                    ValidationBlock::VerifySpc(Spc::new("000000").unwrap()),
                    ValidationBlock::ChangeSpc(Spc::new("123456").unwrap()),
                ],
            }),
            &[
                0x09, 0x02, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x03, 0x12, 0x34, 0x56,
            ],
        );
        assert_eq!(Spc::new("123456").unwrap().to_string(), "123456");
        assert!(Spc::new("12345").is_err());
        assert!(Spc::new("12345x").is_err());
        // A non-BCD nibble in an SPC is rejected.
        assert!(matches!(
            ForwardMessage::decode(&[0x09, 0x01, 0x00, 0x03, 0x1A, 0x00, 0x00]),
            Err(Is683Error::InvalidDigitCode { code: 0xA, .. })
        ));
    }

    #[test]
    fn validate_spasm_block() {
        // AUTH_OTAPA_INCL 1, AUTH_OTAPA 0x2AAAA, NAM_LOCK 1: 1 10 1010 1010 1010 1010 1 + 4 pad.
        round_trip(
            &ForwardMessage::Validation(ValidationRequest {
                blocks: vec![ValidationBlock::ValidateSpasm(SpasmValidation {
                    auth_otapa: Some(0x2AAAA),
                    nam_lock: true,
                })],
            }),
            &[0x09, 0x01, 0x02, 0x03, 0xD5, 0x55, 0x50],
        );
        // Without AUTH_OTAPA: 0 + NAM_LOCK 1 = 0x40.
        round_trip(
            &ForwardMessage::Validation(ValidationRequest {
                blocks: vec![ValidationBlock::ValidateSpasm(SpasmValidation {
                    auth_otapa: None,
                    nam_lock: true,
                })],
            }),
            &[0x09, 0x01, 0x02, 0x01, 0x40],
        );
    }

    #[test]
    fn download_request_with_mdn() {
        // One block: BLOCK_ID 1, BLOCK_LEN 6, MDN "6195551234": N_DIGITS 10 (0xA), the ten
        // digit nibbles, one pad nibble (44 bits -> 6 octets).
        round_trip(
            &ForwardMessage::Download(DownloadRequest {
                blocks: vec![NamDownloadBlock::Mdn(Mdn::new("6195551234").unwrap())],
                fresh: None,
            }),
            &[0x01, 0x01, 0x01, 0x06, 0xA6, 0x19, 0x55, 0x51, 0x23, 0x40],
        );
        // A BLOCK_LEN that overruns the message.
        assert!(matches!(
            ForwardMessage::decode(&[0x01, 0x01, 0x01, 0x06, 0xA6]),
            Err(Is683Error::BlockLength {
                block_id: 1,
                declared: 6,
                available: 1
            })
        ));
        // FRESH_INCL = 0 + RESERVED decodes as no FRESH.
        assert_eq!(
            ForwardMessage::decode(&[0x01, 0x00, 0x00]).unwrap(),
            ForwardMessage::Download(DownloadRequest::default())
        );
    }

    #[test]
    fn small_fixed_messages() {
        round_trip(
            &ForwardMessage::ReAuthenticate(ReAuthenticateRequest { rand: 0xDEADBEEF }),
            &[0x04, 0xDE, 0xAD, 0xBE, 0xEF],
        );
        round_trip(
            &ForwardMessage::Otapa(OtapaRequest { start: true }),
            &[0x0A, 0x80],
        );
        round_trip(
            &ForwardMessage::ServiceKeyGeneration(ServiceKeyGenerationRequest {
                key_id: ServiceKeyGenerationRequest::KEY_IMS
                    | ServiceKeyGenerationRequest::KEY_WLAN,
            }),
            &[0x15, 0xA0, 0x00],
        );
        round_trip(
            &ForwardMessage::SecureMode(SecureModeRequest {
                key_in_use: 1,
                rand_sm: Some(0x0102030405060708),
            }),
            &[0x0F, 0x88, 1, 2, 3, 4, 5, 6, 7, 8],
        );
        round_trip(
            &ForwardMessage::SsprConfiguration(SsprConfigurationRequest {
                block_id: 1,
                segment: Some(SegmentRequest {
                    offset: 0x00F0,
                    max_size: 200,
                }),
            }),
            &[0x07, 0x01, 0x00, 0xF0, 0xC8],
        );
        round_trip(
            &ForwardMessage::MsKey(MsKeyRequest {
                a_key_p_rev: 2,
                params: Some(KeyExchangeParams {
                    param_p: vec![0x11, 0x22],
                    param_g: vec![0x05],
                }),
            }),
            &[0x02, 0x02, 0x02, 0x11, 0x22, 0x01, 0x05],
        );
        round_trip(
            &ForwardMessage::MsKey(MsKeyRequest {
                a_key_p_rev: 4,
                params: None,
            }),
            &[0x02, 0x04],
        );
    }

    #[test]
    fn encode_rejects_bad_values() {
        let e =
            ForwardMessage::ServiceKeyGeneration(ServiceKeyGenerationRequest { key_id: 0x1000 })
                .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange {
                field: "KEY_ID",
                value: 0x1000,
                max: 0xfff
            })
        ));
        let e = ForwardMessage::Configuration(BlockIdList {
            block_ids: vec![0; 256],
        })
        .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange {
                field: "NUM_BLOCKS",
                ..
            })
        ));
        let e = ForwardMessage::PuzlDownload(BlockDownloadRequest {
            blocks: vec![RawBlock::new(0, vec![0; 256])],
            fresh: None,
        })
        .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange {
                field: "BLOCK_LEN",
                ..
            })
        ));
        let e = ForwardMessage::Download(DownloadRequest {
            blocks: vec![],
            fresh: Some(0x8000),
        })
        .encode();
        assert!(matches!(
            e,
            Err(Is683Error::FieldOutOfRange { field: "FRESH", .. })
        ));
        let e = ForwardMessage::MsKey(MsKeyRequest {
            a_key_p_rev: 2,
            params: None,
        })
        .encode();
        assert!(matches!(e, Err(Is683Error::Inconsistent { .. })));
    }

    #[test]
    fn unknown_and_short_input() {
        assert!(matches!(
            ForwardMessage::decode(&[16]),
            Err(Is683Error::UnknownMessageType(16))
        ));
        assert!(matches!(
            ForwardMessage::decode(&[200]),
            Err(Is683Error::UnknownMessageType(200))
        ));
        assert!(matches!(
            ForwardMessage::decode(&[]),
            Err(Is683Error::Bits(_))
        ));
        assert!(matches!(
            ForwardMessage::decode(&[0x04, 1, 2]),
            Err(Is683Error::Bits(_))
        ));
    }
}
