//! NAM parameter blocks (C.S0016 3.5.2 reverse / 4.5.2 forward) and the IS-95 digit encodings
//! of MCC, IMSI_11_12 and IMSI_S.
//!
//! | BLOCK_ID | block | forward (Download Request) | reverse (Configuration Response) |
//! |---|---|---|---|
//! | 0 | CDMA/Analog NAM | [`CdmaAnalogNam`] | [`CdmaAnalogNamConfig`] |
//! | 1 | Mobile Directory Number | [`Mdn`] | [`Mdn`] |
//! | 2 | CDMA NAM | [`CdmaNam`] | [`CdmaNamConfig`] |
//! | 3 | IMSI_T | [`ImsiParams`] | [`ImsiParams`] |
//! | other | reserved / manufacturer | [`RawBlock`] | [`RawBlock`] |
//!
//! Field widths in bits:
//! - Block 0 forward: FIRSTCHP 11, HOME_SID 15, EX 1, IMSI_M_CLASS 1, IMSI_M_ADDR_NUM 3, MCC_M 10,
//!   IMSI_M_11_12 7, IMSI_M_S 34, ACCOLC 4, LOCAL_CONTROL 1, MOB_TERM_HOME 1,
//!   MOB_TERM_FOR_SID 1, MOB_TERM_FOR_NID 1, N_SID_NID 8, {SID 15, NID 16} x N, pad.
//!   Reverse: SCM 8 and MOB_P_REV 8 follow EX; MAX_SID_NID 8 + STORED_SID_NID 8 replace N_SID_NID.
//! - Block 1: N_DIGITS 4, DIGIT 4 x N (DTMF: 1-9, 0 = 0xA, * = 0xB, # = 0xC), pad.
//! - Block 2 forward: the block 0 fields from IMSI_M_CLASS on. Reverse: RESERVED 2,
//!   SLOTTED_MODE 1, RESERVED 5, MOB_P_REV 8 first, and MAX_SID_NID / STORED_SID_NID.
//! - Block 3: IMSI_T_CLASS 1, IMSI_T_ADDR_NUM 3, MCC_T 10, IMSI_T_11_12 7, IMSI_T_S 34, RESERVED 1.
//!
//! Digit encodings (C.S0005 2.3.1): a group of three decimal digits d1 d2 d3 becomes the 10-bit
//! number `100*d1' + 10*d2' + d3' - 111`, where d' is the digit with 0 counted as 10 (so each
//! decimal digit of the result is the original digit minus one, modulo 10: MCC 310 -> 209).
//! Two digits become `10*d1' + d2' - 11` in 7 bits. IMSI_S (34 bits) of a 10-digit number is
//! IMSI_S2 (10 bits, first three digits) followed by IMSI_S1 (24 bits: 10 bits for the next
//! three digits, 4 bits for the thousands digit with 0 -> 10, 10 bits for the last three).

use super::blocks::{build_block, parse_block, RawBlock};
use super::{check_width, octet_count, put, Is683Error, Result};
use crate::bits::{BitReader, BitWriter};

// ---- digit encodings ----

/// Decimal digits of `s`, which must have exactly `expected` of them.
fn decimal_digits(field: &'static str, s: &str, expected: usize) -> Result<Vec<u8>> {
    let digits = s
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map(|d| d as u8)
                .ok_or(Is683Error::InvalidDigit { field, digit: c })
        })
        .collect::<Result<Vec<u8>>>()?;
    if digits.len() != expected {
        return Err(Is683Error::DigitCount {
            field,
            expected,
            found: digits.len(),
        });
    }
    Ok(digits)
}

/// `d - 1` modulo 10: the contribution of one digit with 0 counted as 10, less one.
fn shifted(d: u8) -> u16 {
    u16::from((d + 9) % 10)
}

/// Inverse of [`shifted`].
fn unshifted(x: u16) -> char {
    char::from(b'0' + ((x + 1) % 10) as u8)
}

fn encode_group3(digits: &[u8]) -> u16 {
    digits.iter().fold(0u16, |acc, &d| acc * 10 + shifted(d))
}

fn decode_group3(field: &'static str, value: u16) -> Result<String> {
    if value > 999 {
        return Err(Is683Error::FieldOutOfRange {
            field,
            value: u64::from(value),
            max: 999,
        });
    }
    Ok([value / 100, value / 10 % 10, value % 10]
        .iter()
        .map(|&x| unshifted(x))
        .collect())
}

/// Encodes a 3-digit MCC into the 10-bit MCC field ("310" -> 209).
pub fn encode_mcc(mcc: &str) -> Result<u16> {
    Ok(encode_group3(&decimal_digits("MCC", mcc, 3)?))
}

/// Decodes a 10-bit MCC field into its 3 digits (209 -> "310"). Values above 999 are invalid.
pub fn decode_mcc(value: u16) -> Result<String> {
    decode_group3("MCC", value)
}

/// Encodes the 11th and 12th IMSI digits (the MNC of a 15-digit IMSI) into 7 bits ("00" -> 99).
pub fn encode_imsi_11_12(digits: &str) -> Result<u8> {
    let d = decimal_digits("IMSI_11_12", digits, 2)?;
    Ok((shifted(d[0]) * 10 + shifted(d[1])) as u8)
}

/// Decodes the 7-bit IMSI_11_12 field into two digits (99 -> "00"). Values above 99 are invalid.
pub fn decode_imsi_11_12(value: u8) -> Result<String> {
    if value > 99 {
        return Err(Is683Error::FieldOutOfRange {
            field: "IMSI_11_12",
            value: u64::from(value),
            max: 99,
        });
    }
    let v = u16::from(value);
    Ok([v / 10, v % 10].iter().map(|&x| unshifted(x)).collect())
}

/// Encodes the last 10 digits of an IMSI (or a 10-digit MIN) into the 34-bit IMSI_S.
pub fn encode_imsi_s(digits: &str) -> Result<u64> {
    let d = decimal_digits("IMSI_S", digits, 10)?;
    let s2 = u64::from(encode_group3(&d[0..3]));
    let thousands = if d[6] == 0 { 10 } else { u64::from(d[6]) };
    let s1 = (u64::from(encode_group3(&d[3..6])) << 14)
        | (thousands << 10)
        | u64::from(encode_group3(&d[7..10]));
    Ok((s2 << 24) | s1)
}

/// Decodes a 34-bit IMSI_S into its 10 digits.
pub fn decode_imsi_s(value: u64) -> Result<String> {
    check_width("IMSI_S", value, 34)?;
    let s2 = (value >> 24) as u16;
    let first = ((value >> 14) & 0x3ff) as u16;
    let thousands = ((value >> 10) & 0xf) as u8;
    let last = (value & 0x3ff) as u16;
    if !(1..=10).contains(&thousands) {
        return Err(Is683Error::FieldOutOfRange {
            field: "IMSI_S1 thousands digit",
            value: u64::from(thousands),
            max: 10,
        });
    }
    let mut out = decode_group3("IMSI_S2", s2)?;
    out.push_str(&decode_group3("IMSI_S1", first)?);
    out.push(char::from(b'0' + thousands % 10));
    out.push_str(&decode_group3("IMSI_S1", last)?);
    Ok(out)
}

// ---- shared field groups ----

/// The IMSI fields shared by blocks 0, 2 (IMSI_M) and 3 (IMSI_T): CLASS 1, ADDR_NUM 3, MCC 10,
/// IMSI_11_12 7, IMSI_S 34, in their wire encodings (see the digit helpers of this module).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ImsiParams {
    /// IMSI_CLASS: false = class 0 (15-digit IMSI), true = class 1.
    pub class: bool,
    /// IMSI_ADDR_NUM (3 bits): for class 1, the number of NMSI digits minus 4.
    pub addr_num: u8,
    /// MCC (10 bits, encoded).
    pub mcc: u16,
    /// IMSI_11_12 (7 bits, encoded).
    pub imsi_11_12: u8,
    /// IMSI_S (34 bits, encoded).
    pub imsi_s: u64,
}

impl ImsiParams {
    /// A class 0 IMSI from its decimal parts: MCC (3 digits), IMSI_11_12 (2 digits) and the last
    /// 10 digits.
    pub fn class0(mcc: &str, imsi_11_12: &str, imsi_s: &str) -> Result<Self> {
        Ok(Self {
            class: false,
            addr_num: 0,
            mcc: encode_mcc(mcc)?,
            imsi_11_12: encode_imsi_11_12(imsi_11_12)?,
            imsi_s: encode_imsi_s(imsi_s)?,
        })
    }

    /// The 15-digit IMSI (MCC + IMSI_11_12 + IMSI_S) these fields encode.
    pub fn digits(&self) -> Result<String> {
        let mut s = decode_mcc(self.mcc)?;
        s.push_str(&decode_imsi_11_12(self.imsi_11_12)?);
        s.push_str(&decode_imsi_s(self.imsi_s)?);
        Ok(s)
    }

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        Ok(Self {
            class: r.flag("IMSI_CLASS")?,
            addr_num: r.u8("IMSI_ADDR_NUM", 3)?,
            mcc: r.u16("MCC", 10)?,
            imsi_11_12: r.u8("IMSI_11_12", 7)?,
            imsi_s: r.read("IMSI_S", 34)?,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.flag(self.class);
        put(w, "IMSI_ADDR_NUM", u64::from(self.addr_num), 3)?;
        put(w, "MCC", u64::from(self.mcc), 10)?;
        put(w, "IMSI_11_12", u64::from(self.imsi_11_12), 7)?;
        put(w, "IMSI_S", self.imsi_s, 34)
    }

    /// Block 3 (IMSI_T): the IMSI fields then RESERVED 1.
    fn read_imsi_t(r: &mut BitReader<'_>) -> Result<Self> {
        let v = Self::read(r)?;
        r.skip("RESERVED", 1)?;
        Ok(v)
    }

    fn write_imsi_t(&self, w: &mut BitWriter) -> Result<()> {
        self.write(w)?;
        w.write(0, 1);
        Ok(())
    }
}

/// One SID/NID pair: SID 15 bits, NID 16 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SidNid {
    /// System identification (15 bits).
    pub sid: u16,
    /// Network identification (16 bits; 65535 = any network of the SID).
    pub nid: u16,
}

fn read_pairs(r: &mut BitReader<'_>, n: u8) -> Result<Vec<SidNid>> {
    (0..n)
        .map(|_| {
            Ok(SidNid {
                sid: r.u16("SID", 15)?,
                nid: r.u16("NID", 16)?,
            })
        })
        .collect()
}

fn write_pairs(w: &mut BitWriter, pairs: &[SidNid]) -> Result<()> {
    for p in pairs {
        put(w, "SID", u64::from(p.sid), 15)?;
        w.write(u64::from(p.nid), 16);
    }
    Ok(())
}

/// ACCOLC 4, LOCAL_CONTROL 1, MOB_TERM_HOME 1, MOB_TERM_FOR_SID 1, MOB_TERM_FOR_NID 1: the
/// access and termination settings common to blocks 0 and 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessSettings {
    /// ACCOLC (4 bits): access overload class.
    pub accolc: u8,
    /// LOCAL_CONTROL: local control enabled.
    pub local_control: bool,
    /// MOB_TERM_HOME: accept calls when home.
    pub mob_term_home: bool,
    /// MOB_TERM_FOR_SID: accept calls when roaming on a foreign SID.
    pub mob_term_for_sid: bool,
    /// MOB_TERM_FOR_NID: accept calls when roaming on a foreign NID.
    pub mob_term_for_nid: bool,
}

impl AccessSettings {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        Ok(Self {
            accolc: r.u8("ACCOLC", 4)?,
            local_control: r.flag("LOCAL_CONTROL")?,
            mob_term_home: r.flag("MOB_TERM_HOME")?,
            mob_term_for_sid: r.flag("MOB_TERM_FOR_SID")?,
            mob_term_for_nid: r.flag("MOB_TERM_FOR_NID")?,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        put(w, "ACCOLC", u64::from(self.accolc), 4)?;
        w.flag(self.local_control);
        w.flag(self.mob_term_home);
        w.flag(self.mob_term_for_sid);
        w.flag(self.mob_term_for_nid);
        Ok(())
    }
}

// ---- block 0 ----

/// Block 0, CDMA/Analog NAM, forward form (Download Request).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CdmaAnalogNam {
    /// FIRSTCHP (11 bits): first paging channel of the home analog system.
    pub firstchp: u16,
    /// HOME_SID (15 bits).
    pub home_sid: u16,
    /// EX: extended address indicator.
    pub ex: bool,
    /// IMSI_M fields.
    pub imsi_m: ImsiParams,
    /// ACCOLC and the termination indicators.
    pub access: AccessSettings,
    /// The SID/NID list (N_SID_NID = its length, at most 255; the block must fit 255 octets).
    pub sid_nid: Vec<SidNid>,
}

impl CdmaAnalogNam {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let firstchp = r.u16("FIRSTCHP", 11)?;
        let home_sid = r.u16("HOME_SID", 15)?;
        let ex = r.flag("EX")?;
        let imsi_m = ImsiParams::read(r)?;
        let access = AccessSettings::read(r)?;
        let n = r.u8("N_SID_NID", 8)?;
        let sid_nid = read_pairs(r, n)?;
        Ok(Self {
            firstchp,
            home_sid,
            ex,
            imsi_m,
            access,
            sid_nid,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        put(w, "FIRSTCHP", u64::from(self.firstchp), 11)?;
        put(w, "HOME_SID", u64::from(self.home_sid), 15)?;
        w.flag(self.ex);
        self.imsi_m.write(w)?;
        self.access.write(w)?;
        w.write(u64::from(octet_count("N_SID_NID", self.sid_nid.len())?), 8);
        write_pairs(w, &self.sid_nid)
    }
}

/// Block 0, CDMA/Analog NAM, reverse form (Configuration Response).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CdmaAnalogNamConfig {
    /// FIRSTCHP (11 bits).
    pub firstchp: u16,
    /// HOME_SID (15 bits).
    pub home_sid: u16,
    /// EX: extended address indicator.
    pub ex: bool,
    /// SCM: station class mark.
    pub scm: u8,
    /// MOB_P_REV: the mobile's protocol revision.
    pub mob_p_rev: u8,
    /// IMSI_M fields.
    pub imsi_m: ImsiParams,
    /// ACCOLC and the termination indicators.
    pub access: AccessSettings,
    /// MAX_SID_NID: how many pairs the mobile can store.
    pub max_sid_nid: u8,
    /// The stored SID/NID pairs (STORED_SID_NID = its length).
    pub sid_nid: Vec<SidNid>,
}

impl CdmaAnalogNamConfig {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let firstchp = r.u16("FIRSTCHP", 11)?;
        let home_sid = r.u16("HOME_SID", 15)?;
        let ex = r.flag("EX")?;
        let scm = r.u8("SCM", 8)?;
        let mob_p_rev = r.u8("MOB_P_REV", 8)?;
        let imsi_m = ImsiParams::read(r)?;
        let access = AccessSettings::read(r)?;
        let max_sid_nid = r.u8("MAX_SID_NID", 8)?;
        let n = r.u8("STORED_SID_NID", 8)?;
        let sid_nid = read_pairs(r, n)?;
        Ok(Self {
            firstchp,
            home_sid,
            ex,
            scm,
            mob_p_rev,
            imsi_m,
            access,
            max_sid_nid,
            sid_nid,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        put(w, "FIRSTCHP", u64::from(self.firstchp), 11)?;
        put(w, "HOME_SID", u64::from(self.home_sid), 15)?;
        w.flag(self.ex);
        w.write(u64::from(self.scm), 8);
        w.write(u64::from(self.mob_p_rev), 8);
        self.imsi_m.write(w)?;
        self.access.write(w)?;
        w.write(u64::from(self.max_sid_nid), 8);
        w.write(
            u64::from(octet_count("STORED_SID_NID", self.sid_nid.len())?),
            8,
        );
        write_pairs(w, &self.sid_nid)
    }
}

// ---- block 1 ----

/// Block 1, Mobile Directory Number: up to 15 DTMF digits ('0'-'9', '*', '#').
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Mdn {
    /// The digits as text.
    pub digits: String,
}

impl Mdn {
    /// An MDN from text, checked for length and characters.
    pub fn new(digits: &str) -> Result<Self> {
        let mdn = Self {
            digits: digits.to_owned(),
        };
        mdn.codes()?;
        Ok(mdn)
    }

    /// The DTMF codes of the digits.
    fn codes(&self) -> Result<Vec<u8>> {
        let codes = self
            .digits
            .chars()
            .map(|c| match c {
                '1'..='9' => Ok(c as u8 - b'0'),
                '0' => Ok(0xA),
                '*' => Ok(0xB),
                '#' => Ok(0xC),
                other => Err(Is683Error::InvalidDigit {
                    field: "MDN",
                    digit: other,
                }),
            })
            .collect::<Result<Vec<u8>>>()?;
        check_width("N_DIGITS", codes.len() as u64, 4)?;
        Ok(codes)
    }

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let n = r.u8("N_DIGITS", 4)?;
        let mut digits = String::with_capacity(usize::from(n));
        for _ in 0..n {
            let code = r.u8("DIGIT", 4)?;
            digits.push(match code {
                1..=9 => char::from(b'0' + code),
                0xA => '0',
                0xB => '*',
                0xC => '#',
                _ => return Err(Is683Error::InvalidDigitCode { field: "MDN", code }),
            });
        }
        Ok(Self { digits })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        let codes = self.codes()?;
        w.write(codes.len() as u64, 4);
        for c in codes {
            w.write(u64::from(c), 4);
        }
        Ok(())
    }
}

// ---- block 2 ----

/// Block 2, CDMA NAM, forward form (Download Request).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CdmaNam {
    /// IMSI_M fields.
    pub imsi_m: ImsiParams,
    /// ACCOLC and the termination indicators.
    pub access: AccessSettings,
    /// The SID/NID list (N_SID_NID = its length).
    pub sid_nid: Vec<SidNid>,
}

impl CdmaNam {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let imsi_m = ImsiParams::read(r)?;
        let access = AccessSettings::read(r)?;
        let n = r.u8("N_SID_NID", 8)?;
        let sid_nid = read_pairs(r, n)?;
        Ok(Self {
            imsi_m,
            access,
            sid_nid,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        self.imsi_m.write(w)?;
        self.access.write(w)?;
        w.write(u64::from(octet_count("N_SID_NID", self.sid_nid.len())?), 8);
        write_pairs(w, &self.sid_nid)
    }
}

/// Block 2, CDMA NAM, reverse form (Configuration Response).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CdmaNamConfig {
    /// SLOTTED_MODE: the mobile operates in slotted mode.
    pub slotted_mode: bool,
    /// MOB_P_REV: the mobile's protocol revision.
    pub mob_p_rev: u8,
    /// IMSI_M fields.
    pub imsi_m: ImsiParams,
    /// ACCOLC and the termination indicators.
    pub access: AccessSettings,
    /// MAX_SID_NID: how many pairs the mobile can store.
    pub max_sid_nid: u8,
    /// The stored SID/NID pairs (STORED_SID_NID = its length).
    pub sid_nid: Vec<SidNid>,
}

impl CdmaNamConfig {
    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        r.skip("RESERVED", 2)?;
        let slotted_mode = r.flag("SLOTTED_MODE")?;
        r.skip("RESERVED", 5)?;
        let mob_p_rev = r.u8("MOB_P_REV", 8)?;
        let imsi_m = ImsiParams::read(r)?;
        let access = AccessSettings::read(r)?;
        let max_sid_nid = r.u8("MAX_SID_NID", 8)?;
        let n = r.u8("STORED_SID_NID", 8)?;
        let sid_nid = read_pairs(r, n)?;
        Ok(Self {
            slotted_mode,
            mob_p_rev,
            imsi_m,
            access,
            max_sid_nid,
            sid_nid,
        })
    }

    fn write(&self, w: &mut BitWriter) -> Result<()> {
        w.write(0, 2);
        w.flag(self.slotted_mode);
        w.write(0, 5);
        w.write(u64::from(self.mob_p_rev), 8);
        self.imsi_m.write(w)?;
        self.access.write(w)?;
        w.write(u64::from(self.max_sid_nid), 8);
        w.write(
            u64::from(octet_count("STORED_SID_NID", self.sid_nid.len())?),
            8,
        );
        write_pairs(w, &self.sid_nid)
    }
}

// ---- the block enums ----

fn not_raw(block_id: u8) -> Result<()> {
    if block_id <= 3 {
        Err(Is683Error::Inconsistent {
            field: "BLOCK_ID",
            reason: "NAM blocks 0-3 must use their typed variants, not Other",
        })
    } else {
        Ok(())
    }
}

/// A NAM parameter block in a Download Request (forward).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamDownloadBlock {
    /// Block 0: CDMA/Analog NAM.
    CdmaAnalog(CdmaAnalogNam),
    /// Block 1: Mobile Directory Number.
    Mdn(Mdn),
    /// Block 2: CDMA NAM.
    Cdma(CdmaNam),
    /// Block 3: IMSI_T.
    ImsiT(ImsiParams),
    /// Any other BLOCK_ID (4 and up), kept as octets.
    Other(RawBlock),
}

impl NamDownloadBlock {
    /// The BLOCK_ID of this block.
    pub fn block_id(&self) -> u8 {
        match self {
            NamDownloadBlock::CdmaAnalog(_) => 0,
            NamDownloadBlock::Mdn(_) => 1,
            NamDownloadBlock::Cdma(_) => 2,
            NamDownloadBlock::ImsiT(_) => 3,
            NamDownloadBlock::Other(b) => b.block_id,
        }
    }

    /// Interprets PARAM_DATA of block `block_id`.
    pub fn from_block(block: RawBlock) -> Result<Self> {
        let data = &block.data;
        Ok(match block.block_id {
            0 => Self::CdmaAnalog(parse_block(data, "NAM block 0", CdmaAnalogNam::read)?),
            1 => Self::Mdn(parse_block(data, "NAM block 1 (MDN)", Mdn::read)?),
            2 => Self::Cdma(parse_block(data, "NAM block 2", CdmaNam::read)?),
            3 => Self::ImsiT(parse_block(
                data,
                "NAM block 3 (IMSI_T)",
                ImsiParams::read_imsi_t,
            )?),
            _ => Self::Other(block),
        })
    }

    /// The block as BLOCK_ID + PARAM_DATA.
    pub fn to_block(&self) -> Result<RawBlock> {
        let data = match self {
            NamDownloadBlock::CdmaAnalog(b) => build_block(|w| b.write(w))?,
            NamDownloadBlock::Mdn(b) => build_block(|w| b.write(w))?,
            NamDownloadBlock::Cdma(b) => build_block(|w| b.write(w))?,
            NamDownloadBlock::ImsiT(b) => build_block(|w| b.write_imsi_t(w))?,
            NamDownloadBlock::Other(b) => {
                not_raw(b.block_id)?;
                return Ok(b.clone());
            }
        };
        Ok(RawBlock::new(self.block_id(), data))
    }
}

/// A NAM parameter block in a Configuration Response (reverse).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamConfigBlock {
    /// Block 0: CDMA/Analog NAM.
    CdmaAnalog(CdmaAnalogNamConfig),
    /// Block 1: Mobile Directory Number.
    Mdn(Mdn),
    /// Block 2: CDMA NAM.
    Cdma(CdmaNamConfig),
    /// Block 3: IMSI_T.
    ImsiT(ImsiParams),
    /// Any other BLOCK_ID (4 and up), kept as octets.
    Other(RawBlock),
}

impl NamConfigBlock {
    /// The BLOCK_ID of this block.
    pub fn block_id(&self) -> u8 {
        match self {
            NamConfigBlock::CdmaAnalog(_) => 0,
            NamConfigBlock::Mdn(_) => 1,
            NamConfigBlock::Cdma(_) => 2,
            NamConfigBlock::ImsiT(_) => 3,
            NamConfigBlock::Other(b) => b.block_id,
        }
    }

    /// Interprets PARAM_DATA of block `block_id`.
    pub fn from_block(block: RawBlock) -> Result<Self> {
        let data = &block.data;
        Ok(match block.block_id {
            0 => Self::CdmaAnalog(parse_block(data, "NAM block 0", CdmaAnalogNamConfig::read)?),
            1 => Self::Mdn(parse_block(data, "NAM block 1 (MDN)", Mdn::read)?),
            2 => Self::Cdma(parse_block(data, "NAM block 2", CdmaNamConfig::read)?),
            3 => Self::ImsiT(parse_block(
                data,
                "NAM block 3 (IMSI_T)",
                ImsiParams::read_imsi_t,
            )?),
            _ => Self::Other(block),
        })
    }

    /// The block as BLOCK_ID + PARAM_DATA.
    pub fn to_block(&self) -> Result<RawBlock> {
        let data = match self {
            NamConfigBlock::CdmaAnalog(b) => build_block(|w| b.write(w))?,
            NamConfigBlock::Mdn(b) => build_block(|w| b.write(w))?,
            NamConfigBlock::Cdma(b) => build_block(|w| b.write(w))?,
            NamConfigBlock::ImsiT(b) => build_block(|w| b.write_imsi_t(w))?,
            NamConfigBlock::Other(b) => {
                not_raw(b.block_id)?;
                return Ok(b.clone());
            }
        };
        Ok(RawBlock::new(self.block_id(), data))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn mcc_vectors() {
        // 3 -> 2, 1 -> 0, 0 (=10) -> 9: 209.
        assert_eq!(encode_mcc("310").unwrap(), 209);
        assert_eq!(decode_mcc(209).unwrap(), "310");
        // 0 counts as 10: "000" -> 999, "111" -> 0.
        assert_eq!(encode_mcc("000").unwrap(), 999);
        assert_eq!(encode_mcc("111").unwrap(), 0);
        assert_eq!(decode_mcc(999).unwrap(), "000");
        assert!(matches!(
            decode_mcc(1000),
            Err(Is683Error::FieldOutOfRange { .. })
        ));
        assert!(matches!(
            encode_mcc("31a"),
            Err(Is683Error::InvalidDigit { digit: 'a', .. })
        ));
        assert!(matches!(
            encode_mcc("31"),
            Err(Is683Error::DigitCount {
                expected: 3,
                found: 2,
                ..
            })
        ));
    }

    #[test]
    fn imsi_11_12_vectors() {
        // "00": 10*10 + 10 - 11 = 99. "12": 10*1 + 2 - 11 = 1.
        assert_eq!(encode_imsi_11_12("00").unwrap(), 99);
        assert_eq!(encode_imsi_11_12("12").unwrap(), 1);
        assert_eq!(decode_imsi_11_12(99).unwrap(), "00");
        assert_eq!(decode_imsi_11_12(1).unwrap(), "12");
        assert!(decode_imsi_11_12(100).is_err());
    }

    #[test]
    fn imsi_s_vector_6195551234() {
        // IMSI_S2 "619": 6->5, 1->0, 9->8 = 508 = 0x1FC.
        // IMSI_S1 "555" -> 444 = 0x1BC; thousands '1' -> 1; "234" -> 123 = 0x7B.
        // S1 = 0x1BC << 14 | 1 << 10 | 0x7B = 0x6F047B.
        // IMSI_S = 0x1FC << 24 | 0x6F047B = 0x1_FC6F_047B.
        assert_eq!(encode_imsi_s("6195551234").unwrap(), 0x1_FC6F_047B);
        assert_eq!(decode_imsi_s(0x1_FC6F_047B).unwrap(), "6195551234");
    }

    #[test]
    fn imsi_s_vector_with_zeros() {
        // "2120000000": S2 "212" -> 101; "000" -> 999; thousands '0' -> 10; "000" -> 999.
        let expected = (101u64 << 24) | (999 << 14) | (10 << 10) | 999;
        assert_eq!(encode_imsi_s("2120000000").unwrap(), expected);
        assert_eq!(decode_imsi_s(expected).unwrap(), "2120000000");
        // A thousands digit code of 0 or 11-15 is invalid.
        assert!(decode_imsi_s(101u64 << 24).is_err());
        assert!(decode_imsi_s(1u64 << 34).is_err());
    }

    #[test]
    fn imsi_params_from_digits() {
        let p = ImsiParams::class0("310", "00", "6195551234").unwrap();
        assert_eq!(p.mcc, 209);
        assert_eq!(p.imsi_11_12, 99);
        assert_eq!(p.digits().unwrap(), "310006195551234");
    }

    #[test]
    fn mdn_block_vector() {
        // "6195551234#": N_DIGITS 11 = 0xB, then 6 1 9 5 5 5 1 2 3 4 C, pad nibble 0.
        let block = NamDownloadBlock::Mdn(Mdn::new("6195551234#").unwrap())
            .to_block()
            .unwrap();
        assert_eq!(block.block_id, 1);
        assert_eq!(block.data, vec![0xB6, 0x19, 0x55, 0x51, 0x23, 0x4C]);
        assert_eq!(
            NamDownloadBlock::from_block(block).unwrap(),
            NamDownloadBlock::Mdn(Mdn::new("6195551234#").unwrap())
        );
        // '0' is 0xA and '*' is 0xB.
        let zero = NamDownloadBlock::Mdn(Mdn::new("0*").unwrap())
            .to_block()
            .unwrap();
        assert_eq!(zero.data, vec![0x2A, 0xB0]);
        assert!(Mdn::new("1234567890123456").is_err());
        assert!(Mdn::new("12a").is_err());
        assert!(matches!(
            NamDownloadBlock::from_block(RawBlock::new(1, vec![0x1D])),
            Err(Is683Error::InvalidDigitCode { code: 0xD, .. })
        ));
    }

    #[test]
    fn nam_block_0_vector() {
        // FIRSTCHP 283, HOME_SID 4145, EX 0, IMSI_M class 0, addr 0, MCC 310 (209),
        // 11_12 "00" (99), IMSI_S 6195551234, ACCOLC 4, LOCAL_CONTROL 0, MOB_TERM_* 1 1 1,
        // one SID/NID pair (4145, 65535).
        let nam = CdmaAnalogNam {
            firstchp: 283,
            home_sid: 4145,
            ex: false,
            imsi_m: ImsiParams::class0("310", "00", "6195551234").unwrap(),
            access: AccessSettings {
                accolc: 4,
                local_control: false,
                mob_term_home: true,
                mob_term_for_sid: true,
                mob_term_for_nid: true,
            },
            sid_nid: vec![SidNid {
                sid: 4145,
                nid: 65535,
            }],
        };
        let block = NamDownloadBlock::CdmaAnalog(nam.clone())
            .to_block()
            .unwrap();
        // Built by hand, bit by bit:
        //   FIRSTCHP 283      = 001 0001 1011
        //   HOME_SID 4145     = 001 0000 0011 0001
        //   EX 0, CLASS 0, ADDR_NUM 000
        //   MCC 209           = 00 1101 0001
        //   IMSI_11_12 99     = 110 0011
        //   IMSI_S            = 01 1111 1100 0110 1111 0000 0100 0111 1011
        //   ACCOLC 0100, LOCAL_CONTROL 0, MOB_TERM 111
        //   N_SID_NID 1       = 0000 0001
        //   SID 4145 (15), NID 65535 (16): 129 bits, 7 pad bits.
        let bits = concat!(
            "00100011011",
            "001000000110001",
            "0",
            "0",
            "000",
            "0011010001",
            "1100011",
            "0111111100011011110000010001111011",
            "0100",
            "0",
            "111",
            "00000001",
            "001000000110001",
            "1111111111111111",
            "0000000"
        );
        let expected: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| c.iter().fold(0u8, |a, b| (a << 1) | (b - b'0')))
            .collect();
        assert_eq!(block.data, expected);
        assert_eq!(block.data.len(), 17);
        assert_eq!(
            NamDownloadBlock::from_block(block).unwrap(),
            NamDownloadBlock::CdmaAnalog(nam)
        );
    }

    #[test]
    fn encode_rejects_out_of_range() {
        let mut nam = CdmaNam::default();
        nam.sid_nid.push(SidNid {
            sid: 0x8000,
            nid: 0,
        });
        assert!(matches!(
            NamDownloadBlock::Cdma(nam).to_block(),
            Err(Is683Error::FieldOutOfRange {
                field: "SID",
                max: 0x7fff,
                ..
            })
        ));
        let bad = ImsiParams {
            imsi_s: 1 << 34,
            ..ImsiParams::default()
        };
        assert!(NamDownloadBlock::ImsiT(bad).to_block().is_err());
        assert!(NamDownloadBlock::Other(RawBlock::new(2, vec![]))
            .to_block()
            .is_err());
    }

    #[test]
    fn trailing_octets_in_a_block_are_rejected() {
        let mut data = NamDownloadBlock::ImsiT(ImsiParams::default())
            .to_block()
            .unwrap()
            .data;
        assert_eq!(data.len(), 7);
        data.push(0);
        assert!(matches!(
            NamDownloadBlock::from_block(RawBlock::new(3, data)),
            Err(Is683Error::TrailingBytes { octets: 1, .. })
        ));
    }
}
