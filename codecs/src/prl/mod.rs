//! Preferred Roaming List (PRL): the SSPR payload of IS-683 (C.S0016 §3.5.3 and §3.5.5).
//!
//! A PRL is an octet string that starts with PR_LIST_SIZE (its own length in octets) and ends with
//! PR_LIST_CRC. Two layouts exist:
//!
//! | module | layout | SSPR_P_REV |
//! |---|---|---|
//! | [`classic`] | bit-packed acquisition and system tables | 1 |
//! | [`extended`] | length-framed records, common subnet table, HRPD systems | 3 |
//!
//! [`crc`] has PR_LIST_CRC and [`segment`] cuts a PRL into SSPR Download segments and puts it back
//! together. [`Prl`] wraps both layouts; [`header_summary`] reads the size, id and CRC without
//! parsing the tables (for an import screen that must show something even for a broken file).
//!
//! Record indices in errors count from 0, as ACQ_INDEX does.

pub mod classic;
pub mod crc;
pub mod extended;
pub mod segment;

use std::fmt;

use thiserror::Error;

use crate::bits::{BitError, BitReader, BitWriter};

pub use classic::{AcqRecord, ClassicPrl, Nid, PrefNeg, SysRecord};
pub use crc::pr_list_crc;
pub use extended::{
    Association, BandChan, CommonSubnetRecord, ExtAcqRecord, ExtSysRecord, ExtSystem, ExtendedPrl,
    RawBits,
};
pub use segment::{
    segment, segment_size_for, Reassembler, Segment, SegmentError, MAX_SEGMENT_SIZE,
};

/// Where in a PRL a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The fixed fields before the first acquisition record.
    Header,
    /// An acquisition record, by index from 0.
    AcqRecord(usize),
    /// An extended PRL common subnet record, by index from 0.
    CommonSubnetRecord(usize),
    /// A system record, by index from 0.
    SysRecord(usize),
    /// Between the last system record and PR_LIST_CRC.
    Trailer,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Header => f.write_str("PRL header"),
            Self::AcqRecord(i) => write!(f, "acquisition record {i}"),
            Self::CommonSubnetRecord(i) => write!(f, "common subnet record {i}"),
            Self::SysRecord(i) => write!(f, "system record {i}"),
            Self::Trailer => f.write_str("after the system table"),
        }
    }
}

/// Why a PRL could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrlError {
    /// Fewer octets than PR_LIST_SIZE, PR_LIST_ID and PR_LIST_CRC alone need.
    #[error(
        "a PRL of {len} octets is too short: PR_LIST_SIZE, PR_LIST_ID and PR_LIST_CRC alone take 6"
    )]
    TooShort {
        /// Octets given.
        len: usize,
    },
    /// PR_LIST_SIZE disagrees with the number of octets given.
    #[error("PR_LIST_SIZE says {declared} octets but the PRL has {actual}")]
    WrongSize {
        /// PR_LIST_SIZE as stored.
        declared: u16,
        /// Octets given.
        actual: usize,
    },
    /// PR_LIST_CRC disagrees with the contents.
    #[error("PR_LIST_CRC is {stored:#06X} but the contents give {computed:#06X}")]
    BadCrc {
        /// PR_LIST_CRC as stored.
        stored: u16,
        /// CRC computed over the PRL.
        computed: u16,
    },
    /// A field runs past the end of the PRL (or of its record).
    #[error("{place}: {source}")]
    Truncated {
        /// Where the field was being read.
        place: Place,
        /// The underlying short read.
        source: BitError,
    },
    /// An ACQ_TYPE this codec cannot frame (classic) or a reserved value.
    #[error("acquisition record {index}: ACQ_TYPE {acq_type} is reserved")]
    UnknownAcqType {
        /// Acquisition record index.
        index: usize,
        /// The ACQ_TYPE found.
        acq_type: u8,
    },
    /// A system record's ACQ_INDEX points past the acquisition table.
    #[error("system record {index}: ACQ_INDEX {acq_index} refers past the {num_acq_recs} acquisition records")]
    AcqIndexOutOfRange {
        /// System record index.
        index: usize,
        /// The ACQ_INDEX found.
        acq_index: u16,
        /// Records in the acquisition table.
        num_acq_recs: usize,
    },
    /// NID_INCL = '11', which is reserved.
    #[error("system record {index}: NID_INCL 11 is reserved")]
    ReservedNidIncl {
        /// System record index.
        index: usize,
    },
    /// An extended HRPD record's SUBNET_COMMON_OFFSET is not where a common subnet record starts.
    #[error("system record {index}: SUBNET_COMMON_OFFSET {offset} is not the start of a common subnet record")]
    BadSubnetOffset {
        /// System record index.
        index: usize,
        /// The offset found (octets into the common subnet table).
        offset: u16,
    },
    /// A record length field that cannot be right.
    #[error("{place}: length {length} {problem}")]
    BadRecordLength {
        /// The record.
        place: Place,
        /// The length (octets, or bits where the record counts bits).
        length: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Bits left over that no field accounts for (8 or more: not just padding).
    #[error("{place}: {bits} bits left over that no field accounts for")]
    UnusedBits {
        /// Where.
        place: Place,
        /// How many.
        bits: usize,
    },
    /// Encoding: a value too wide for its field.
    #[error("{place}: {field} {value} does not fit in {width} bits")]
    FieldRange {
        /// Where.
        place: Place,
        /// The field, as named in the standard.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The field's width.
        width: u32,
    },
    /// Encoding: more records or entries than the count field can say.
    #[error("{place}: {count} entries for {field}, at most {max} allowed")]
    TooMany {
        /// Where.
        place: Place,
        /// The count field, as named in the standard.
        field: &'static str,
        /// Entries given.
        count: usize,
        /// The count field's maximum.
        max: usize,
    },
    /// Encoding: the PRL would exceed what PR_LIST_SIZE can express.
    #[error("the encoded PRL would be {size} octets; PR_LIST_SIZE allows at most 65535")]
    TooLarge {
        /// Octets the PRL would need.
        size: usize,
    },
    /// An extended PRL whose CUR_SSPR_P_REV this codec does not know.
    #[error("CUR_SSPR_P_REV {cur_sspr_p_rev} is not supported (only 3)")]
    UnsupportedSsprPRev {
        /// The value found.
        cur_sspr_p_rev: u8,
    },
    /// Encoding: a value whose form cannot be encoded as given.
    #[error("{place}: {problem}")]
    Invalid {
        /// Where.
        place: Place,
        /// What is wrong.
        problem: &'static str,
    },
}

/// Which PRL layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrlFormat {
    /// SSPR_P_REV 1: the IS-683-A layout.
    Classic,
    /// SSPR_P_REV 3: the extended layout.
    Extended,
}

impl PrlFormat {
    /// The SSPR_P_REV a mobile must support to take this layout.
    pub fn sspr_p_rev(self) -> u8 {
        match self {
            Self::Classic => 1,
            Self::Extended => extended::CUR_SSPR_P_REV,
        }
    }

    /// The layout for a mobile's SSPR_P_REV: 3 and above take the extended PRL.
    pub fn for_sspr_p_rev(sspr_p_rev: u8) -> Self {
        if sspr_p_rev >= 3 {
            Self::Extended
        } else {
            Self::Classic
        }
    }
}

impl fmt::Display for PrlFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Classic => f.write_str("PRL (SSPR_P_REV 1)"),
            Self::Extended => f.write_str("extended PRL (SSPR_P_REV 3)"),
        }
    }
}

/// A decoded PRL of either layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prl {
    /// SSPR_P_REV 1.
    Classic(ClassicPrl),
    /// SSPR_P_REV 3.
    Extended(ExtendedPrl),
}

/// What [`Prl::validate`] found in a valid PRL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrlSummary {
    /// The layout.
    pub format: PrlFormat,
    /// PR_LIST_ID.
    pub pr_list_id: u16,
    /// PR_LIST_SIZE (equal to the octets given).
    pub pr_list_size: u16,
    /// PR_LIST_CRC (equal to the computed CRC).
    pub pr_list_crc: u16,
    /// NUM_ACQ_RECS.
    pub num_acq_recs: usize,
    /// NUM_COMMON_SUBNET_RECS (0 for a classic PRL).
    pub num_common_subnet_recs: usize,
    /// NUM_SYS_RECS.
    pub num_sys_recs: usize,
}

impl Prl {
    /// Decodes a PRL. `sspr_p_rev_hint` is the mobile's SSPR_P_REV when known (1 or 2: classic,
    /// 3 and above: extended). Without a hint the layout is guessed: an octet 4 of 3 (where the
    /// extended PRL keeps CUR_SSPR_P_REV) tries extended first, anything else classic first, and
    /// the other layout is tried if the first fails; the first layout's error is returned if both
    /// fail.
    pub fn decode(bytes: &[u8], sspr_p_rev_hint: Option<u8>) -> Result<Self, PrlError> {
        check_frame(bytes)?;
        let first = match sspr_p_rev_hint {
            Some(rev) => return Self::decode_as(bytes, PrlFormat::for_sspr_p_rev(rev)),
            None if bytes.get(4) == Some(&extended::CUR_SSPR_P_REV) => PrlFormat::Extended,
            None => PrlFormat::Classic,
        };
        let second = match first {
            PrlFormat::Classic => PrlFormat::Extended,
            PrlFormat::Extended => PrlFormat::Classic,
        };
        match Self::decode_as(bytes, first) {
            Ok(prl) => Ok(prl),
            Err(e) => Self::decode_as(bytes, second).map_err(|_| e),
        }
    }

    /// Decodes `bytes` as the given layout.
    pub fn decode_as(bytes: &[u8], format: PrlFormat) -> Result<Self, PrlError> {
        match format {
            PrlFormat::Classic => ClassicPrl::decode(bytes).map(Self::Classic),
            PrlFormat::Extended => ExtendedPrl::decode(bytes).map(Self::Extended),
        }
    }

    /// Encodes the PRL, computing PR_LIST_SIZE and PR_LIST_CRC.
    pub fn encode(&self) -> Result<Vec<u8>, PrlError> {
        match self {
            Self::Classic(p) => p.encode(),
            Self::Extended(p) => p.encode(),
        }
    }

    /// PR_LIST_ID.
    pub fn pr_list_id(&self) -> u16 {
        match self {
            Self::Classic(p) => p.pr_list_id,
            Self::Extended(p) => p.pr_list_id,
        }
    }

    /// The layout.
    pub fn format(&self) -> PrlFormat {
        match self {
            Self::Classic(_) => PrlFormat::Classic,
            Self::Extended(_) => PrlFormat::Extended,
        }
    }

    /// Fully decodes `bytes` (see [`Prl::decode`]) and summarises it, or says what is wrong.
    pub fn validate(bytes: &[u8], sspr_p_rev_hint: Option<u8>) -> Result<PrlSummary, PrlError> {
        let prl = Self::decode(bytes, sspr_p_rev_hint)?;
        let header = header_summary(bytes)?;
        let (num_acq_recs, num_common_subnet_recs, num_sys_recs) = match &prl {
            Self::Classic(p) => (p.acq_records.len(), 0, p.sys_records.len()),
            Self::Extended(p) => (
                p.acq_records.len(),
                p.common_subnet_records.len(),
                p.sys_records.len(),
            ),
        };
        Ok(PrlSummary {
            format: prl.format(),
            pr_list_id: header.pr_list_id,
            pr_list_size: header.pr_list_size,
            pr_list_crc: header.stored_crc,
            num_acq_recs,
            num_common_subnet_recs,
            num_sys_recs,
        })
    }
}

/// The fields [`header_summary`] reads without parsing the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrlHeader {
    /// PR_LIST_SIZE as stored.
    pub pr_list_size: u16,
    /// Octets given.
    pub actual_size: usize,
    /// PR_LIST_ID.
    pub pr_list_id: u16,
    /// The last two octets given, read as PR_LIST_CRC.
    pub stored_crc: u16,
    /// The CRC of everything before the last two octets.
    pub computed_crc: u16,
    /// Octet 4: CUR_SSPR_P_REV in an extended PRL (meaningless in a classic one).
    pub octet4: u8,
}

impl PrlHeader {
    /// Whether PR_LIST_SIZE matches the octets given.
    pub fn size_ok(&self) -> bool {
        usize::from(self.pr_list_size) == self.actual_size
    }

    /// Whether the stored CRC matches the computed one.
    pub fn crc_ok(&self) -> bool {
        self.stored_crc == self.computed_crc
    }
}

/// Reads PR_LIST_SIZE, PR_LIST_ID and the CRC (taken from the last two octets given) without
/// parsing the tables. Fails only on fewer than 6 octets; check [`PrlHeader::size_ok`] and
/// [`PrlHeader::crc_ok`] for the rest.
pub fn header_summary(bytes: &[u8]) -> Result<PrlHeader, PrlError> {
    let len = bytes.len();
    if len < 6 {
        return Err(PrlError::TooShort { len });
    }
    let be = |i: usize| u16::from_be_bytes([bytes[i], bytes[i + 1]]);
    Ok(PrlHeader {
        pr_list_size: be(0),
        actual_size: len,
        pr_list_id: be(2),
        stored_crc: be(len - 2),
        computed_crc: pr_list_crc(&bytes[..len - 2]),
        octet4: bytes.get(4).copied().unwrap_or(0),
    })
}

/// Checks length, PR_LIST_SIZE and PR_LIST_CRC; returns the octets the tables live in (everything
/// but the CRC).
pub(crate) fn check_frame(bytes: &[u8]) -> Result<&[u8], PrlError> {
    let h = header_summary(bytes)?;
    if !h.size_ok() {
        return Err(PrlError::WrongSize {
            declared: h.pr_list_size,
            actual: h.actual_size,
        });
    }
    if !h.crc_ok() {
        return Err(PrlError::BadCrc {
            stored: h.stored_crc,
            computed: h.computed_crc,
        });
    }
    Ok(&bytes[..bytes.len() - 2])
}

/// Pads the written PRL to an octet, appends PR_LIST_CRC and fills in PR_LIST_SIZE (which the
/// caller wrote as 16 zero bits first).
pub(crate) fn finish_frame(w: BitWriter) -> Result<Vec<u8>, PrlError> {
    let mut bytes = w.finish();
    let size = bytes.len() + 2;
    let size16 = u16::try_from(size).map_err(|_| PrlError::TooLarge { size })?;
    if let Some(head) = bytes.get_mut(..2) {
        head.copy_from_slice(&size16.to_be_bytes());
    }
    let crc = pr_list_crc(&bytes);
    bytes.extend_from_slice(&crc.to_be_bytes());
    Ok(bytes)
}

/// A [`BitReader`] that tags short reads with the place being read.
pub(crate) struct Fields<'r, 'a> {
    pub(crate) r: &'r mut BitReader<'a>,
    pub(crate) place: Place,
}

impl Fields<'_, '_> {
    fn err(&self, source: BitError) -> PrlError {
        PrlError::Truncated {
            place: self.place,
            source,
        }
    }

    pub(crate) fn u8(&mut self, field: &'static str, width: u32) -> Result<u8, PrlError> {
        self.r.u8(field, width).map_err(|e| self.err(e))
    }

    pub(crate) fn u16(&mut self, field: &'static str, width: u32) -> Result<u16, PrlError> {
        self.r.u16(field, width).map_err(|e| self.err(e))
    }

    pub(crate) fn flag(&mut self, field: &'static str) -> Result<bool, PrlError> {
        self.r.flag(field).map_err(|e| self.err(e))
    }

    pub(crate) fn skip(&mut self, field: &'static str, width: usize) -> Result<(), PrlError> {
        self.r.skip(field, width).map_err(|e| self.err(e))
    }

    pub(crate) fn bytes(&mut self, field: &'static str, len: usize) -> Result<Vec<u8>, PrlError> {
        self.r.bytes(field, len).map_err(|e| self.err(e))
    }
}

/// Writes `value` in `width` bits after checking that it fits.
pub(crate) fn put(
    w: &mut BitWriter,
    place: Place,
    field: &'static str,
    value: u64,
    width: u32,
) -> Result<(), PrlError> {
    if width < 64 && value >> width != 0 {
        return Err(PrlError::FieldRange {
            place,
            field,
            value,
            width,
        });
    }
    w.write(value, width);
    Ok(())
}

/// Checks that `count` entries fit a count field of `width` bits.
pub(crate) fn check_count(
    place: Place,
    field: &'static str,
    count: usize,
    width: u32,
) -> Result<(), PrlError> {
    let max = (1usize << width) - 1;
    if count > max {
        Err(PrlError::TooMany {
            place,
            field,
            count,
            max,
        })
    } else {
        Ok(())
    }
}

/// A capacity for `count` records that cannot be forged into a huge allocation by a bad count.
pub(crate) fn capacity(count: usize, remaining_bits: usize, min_record_bits: usize) -> usize {
    count.min(remaining_bits / min_record_bits.max(1) + 1)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_summary_of_short_and_broken_input() {
        assert_eq!(header_summary(&[0; 5]), Err(PrlError::TooShort { len: 5 }));
        let h = header_summary(&[0x00, 0x09, 0x12, 0x34, 0x03, 0, 0, 0xAB, 0xCD]).unwrap();
        assert_eq!(h.pr_list_size, 9);
        assert!(h.size_ok());
        assert_eq!(h.pr_list_id, 0x1234);
        assert_eq!(h.stored_crc, 0xABCD);
        assert!(!h.crc_ok());
        assert_eq!(h.octet4, 3);
    }

    proptest! {
        #[test]
        fn header_summary_never_panics(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = header_summary(&data);
            let _ = Prl::validate(&data, None);
        }
    }
}
