//! The extended PRL (SSPR_P_REV 3, C.S0016-D §3.5.5).
//!
//! Field table (widths in bits):
//!
//! | field | bits | notes |
//! |---|---|---|
//! | PR_LIST_SIZE | 16 | total octets, including itself and the CRC |
//! | PR_LIST_ID | 16 | |
//! | CUR_SSPR_P_REV | 8 | 3 |
//! | PREF_ONLY | 1 | |
//! | DEF_ROAM_IND | 8 | |
//! | NUM_ACQ_RECS | 9 | |
//! | NUM_COMMON_SUBNET_RECS | 9 | |
//! | NUM_SYS_RECS | 14 | |
//! | RESERVED | 7 | the header is 11 octets, so every table below starts on an octet |
//! | acquisition records | | ACQ_TYPE 8, LENGTH 8 (octets of body), body |
//! | common subnet records | | RESERVED 4, SUBNET_COMMON_LENGTH 4, SUBNET_COMMON (octets) |
//! | system records | | SYS_RECORD_LENGTH 5 (octets of the whole record), SYS_RECORD_TYPE 4, ... |
//! | RESERVED | 0-7 | (always 0 here: every record is whole octets) |
//! | PR_LIST_CRC | 16 | |
//!
//! System record, after SYS_RECORD_LENGTH and SYS_RECORD_TYPE: PREF_NEG 1, GEO 1, PRI 1,
//! ACQ_INDEX 9, the type-specific system identity, [ROAM_IND 8 if PREF_NEG = 1],
//! ASSOCIATION_INC 1, [ASSOCIATION_TAG 8, PN_ASSOCIATION 1, DATA_ASSOCIATION 1], RESERVED to an
//! octet.
//!
//! # Assumptions (we did not have the C.S0016-D text to hand; check these against it)
//! - Field layout as in the tables above, from our reading of C.S0016-D §3.5.5: unlike the classic
//!   record, PRI is always present; ROAM_IND is present only when PREF_NEG = 1 (no separate
//!   "ROAM_IND included" flag).
//! - ACQ_TYPE 1 to 9 bodies carry the same fields as the classic acquisition records, padded with
//!   zero bits to LENGTH octets; they decode to [`AcqRecord`].
//! - ACQ_TYPE 10 (generic 1x / IS-95) and 11 (generic HRPD) bodies are LENGTH / 2 pairs of
//!   {BAND_CLASS 5, CHAN 11} with **no NUM_CHANS count** in front: the count follows from LENGTH.
//!   This departs from our notes in `shared/protocols/is683.md` §6 (which list a NUM_CHANS 5
//!   field); two independent PRL decoders we compared against agree with the pairs-only layout.
//!   An odd LENGTH is rejected.
//! - Every other ACQ_TYPE (0, 12 and up, e.g. the UMB records) is kept as raw body octets, so a
//!   list that uses them still frames, decodes and re-encodes.
//! - Common subnet record: RESERVED 4, SUBNET_COMMON_LENGTH 4 (octets), SUBNET_COMMON; records
//!   are packed back to back, and an HRPD system record's SUBNET_COMMON_OFFSET (12 bits) is the
//!   octet offset of one record from the start of the table. Decoding checks that the offset falls
//!   on the start of a record.
//! - SYS_RECORD_TYPE 0 (cdma2000 1x / IS-95) identity: RESERVED 1, NID_INCL 2 (same meanings as the
//!   classic record), SID 15, [NID 16 if NID_INCL = 01].
//! - SYS_RECORD_TYPE 1 (HRPD) identity: RESERVED 3, SUBNET_COMMON_INCLUDED 1, SUBNET_LSB_LENGTH 7
//!   (bits), SUBNET_LSB (that many bits), [SUBNET_COMMON_OFFSET 12 if SUBNET_COMMON_INCLUDED].
//! - Every other SYS_RECORD_TYPE (2 obsolete, 3 MCC-MNC, 4-15 reserved) keeps PREF_NEG, GEO, PRI
//!   and ACQ_INDEX typed and everything after ACQ_INDEX as raw bits up to SYS_RECORD_LENGTH, so the
//!   ROAM_IND and association fields of such records are inside those raw bits.
//! - A typed record (acquisition ACQ_TYPE 1-11, system types 0 and 1) with 8 or more bits left over
//!   after its fields is rejected: LENGTH should cover the fields plus at most 7 pad bits.
//! - CUR_SSPR_P_REV other than 3 is rejected.

use crate::bits::{BitError, BitReader, BitWriter};

use super::classic::check_acq_index;
use super::{
    capacity, check_count, check_frame, finish_frame, put, AcqRecord, Fields, Nid, Place, PrlError,
};

/// The only CUR_SSPR_P_REV this module decodes and encodes.
pub const CUR_SSPR_P_REV: u8 = 3;

/// An extended (SSPR_P_REV 3) PRL. PR_LIST_SIZE and PR_LIST_CRC are computed by
/// [`ExtendedPrl::encode`] and checked by [`ExtendedPrl::decode`]; CUR_SSPR_P_REV is always
/// [`CUR_SSPR_P_REV`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedPrl {
    /// PR_LIST_ID.
    pub pr_list_id: u16,
    /// PREF_ONLY.
    pub pref_only: bool,
    /// DEF_ROAM_IND.
    pub def_roam_ind: u8,
    /// The acquisition table (NUM_ACQ_RECS, at most 511).
    pub acq_records: Vec<ExtAcqRecord>,
    /// The common subnet table (NUM_COMMON_SUBNET_RECS, at most 511).
    pub common_subnet_records: Vec<CommonSubnetRecord>,
    /// The system table (NUM_SYS_RECS, at most 16383).
    pub sys_records: Vec<ExtSysRecord>,
}

/// An extended acquisition record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtAcqRecord {
    /// ACQ_TYPE 1 to 9: the classic record's fields, padded to an octet.
    Classic(AcqRecord),
    /// ACQ_TYPE 10: generic acquisition record for cdma2000 1x and IS-95 (at most 127 pairs).
    Generic1x(Vec<BandChan>),
    /// ACQ_TYPE 11: generic acquisition record for HRPD (at most 127 pairs).
    GenericHrpd(Vec<BandChan>),
    /// Any other ACQ_TYPE, body kept as raw octets (at most 255).
    Other {
        /// ACQ_TYPE (not 1 to 11, which have typed variants).
        acq_type: u8,
        /// The LENGTH octets of body.
        body: Vec<u8>,
    },
}

/// A BAND_CLASS and channel pair of a generic acquisition record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BandChan {
    /// BAND_CLASS (5 bits).
    pub band_class: u8,
    /// CHAN (11 bits).
    pub chan: u16,
}

/// A common subnet record: the leading octets shared by several HRPD subnets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommonSubnetRecord {
    /// SUBNET_COMMON (at most 15 octets; its length is SUBNET_COMMON_LENGTH).
    pub subnet_common: Vec<u8>,
}

/// An extended system record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtSysRecord {
    /// GEO: same geographic area as the previous record.
    pub geo: bool,
    /// PRI: more desirable than the previous system in the same GEO area.
    pub pri: bool,
    /// ACQ_INDEX (9 bits).
    pub acq_index: u16,
    /// SYS_RECORD_TYPE and what follows ACQ_INDEX.
    pub system: ExtSystem,
}

/// ASSOCIATION_TAG and its flags (present when ASSOCIATION_INC = 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Association {
    /// ASSOCIATION_TAG.
    pub association_tag: u8,
    /// PN_ASSOCIATION: the associated systems share PN offsets.
    pub pn_association: bool,
    /// DATA_ASSOCIATION: the associated systems share packet data service.
    pub data_association: bool,
}

/// The system identity of an extended system record, by SYS_RECORD_TYPE.
///
/// For the typed variants PREF_NEG is `roam_ind.is_some()`: a preferred system carries ROAM_IND, a
/// negative one does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtSystem {
    /// SYS_RECORD_TYPE 0: cdma2000 1x / IS-95 system.
    Cdma2000 {
        /// SID (15 bits).
        sid: u16,
        /// NID_INCL and NID.
        nid: Nid,
        /// ROAM_IND; `Some` exactly when PREF_NEG = 1.
        roam_ind: Option<u8>,
        /// ASSOCIATION_INC and its fields.
        association: Option<Association>,
    },
    /// SYS_RECORD_TYPE 1: HRPD subnet.
    Hrpd {
        /// SUBNET_LSB (SUBNET_LSB_LENGTH bits, at most 127).
        subnet_lsb: RawBits,
        /// SUBNET_COMMON_OFFSET (octets into the common subnet table), when included.
        subnet_common_offset: Option<u16>,
        /// ROAM_IND; `Some` exactly when PREF_NEG = 1.
        roam_ind: Option<u8>,
        /// ASSOCIATION_INC and its fields.
        association: Option<Association>,
    },
    /// Any other SYS_RECORD_TYPE, kept raw after ACQ_INDEX.
    Other {
        /// SYS_RECORD_TYPE (2 to 15).
        sys_record_type: u8,
        /// PREF_NEG.
        pref_neg: bool,
        /// Every bit after ACQ_INDEX up to the end of the record. 21 + its length must be a
        /// multiple of 8 (the record is whole octets) and the record at most 31 octets.
        tail: RawBits,
    },
}

impl ExtSystem {
    /// SYS_RECORD_TYPE.
    pub fn sys_record_type(&self) -> u8 {
        match self {
            Self::Cdma2000 { .. } => 0,
            Self::Hrpd { .. } => 1,
            Self::Other {
                sys_record_type, ..
            } => *sys_record_type,
        }
    }

    /// PREF_NEG: whether the system is preferred (true) or negative.
    pub fn pref_neg(&self) -> bool {
        match self {
            Self::Cdma2000 { roam_ind, .. } | Self::Hrpd { roam_ind, .. } => roam_ind.is_some(),
            Self::Other { pref_neg, .. } => *pref_neg,
        }
    }
}

/// A string of bits, MSB first, held in octets whose unused low bits are zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct RawBits {
    bit_len: usize,
    data: Vec<u8>,
}

impl RawBits {
    /// The first `bit_len` bits of `data`; `None` if `data` is shorter than that.
    pub fn new(mut data: Vec<u8>, bit_len: usize) -> Option<Self> {
        let octets = bit_len.div_ceil(8);
        if data.len() < octets {
            return None;
        }
        data.truncate(octets);
        let spare = octets * 8 - bit_len;
        if let Some(last) = data.last_mut() {
            *last &= 0xFF << spare;
        }
        Some(Self { bit_len, data })
    }

    /// Length in bits.
    pub fn bit_len(&self) -> usize {
        self.bit_len
    }

    /// The bits, packed MSB first; unused bits of the last octet are zero.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    fn read(f: &mut Fields<'_, '_>, field: &'static str, bit_len: usize) -> Result<Self, PrlError> {
        let mut data = f.bytes(field, bit_len / 8)?;
        let rest = (bit_len % 8) as u32;
        if rest > 0 {
            data.push(f.u8(field, rest)? << (8 - rest));
        }
        Ok(Self { bit_len, data })
    }

    fn write(&self, w: &mut BitWriter) {
        let whole = self.bit_len / 8;
        w.bytes(&self.data[..whole.min(self.data.len())]);
        let rest = (self.bit_len % 8) as u32;
        if rest > 0 {
            if let Some(&last) = self.data.get(whole) {
                w.write(u64::from(last >> (8 - rest)), rest);
            }
        }
    }
}

/// Bits every system record has: SYS_RECORD_LENGTH to ACQ_INDEX.
const SYS_FIXED_BITS: usize = 5 + 4 + 1 + 1 + 1 + 9;
/// Most octets SYS_RECORD_LENGTH can say.
const MAX_SYS_RECORD_OCTETS: usize = 31;

impl ExtAcqRecord {
    /// ACQ_TYPE.
    pub fn acq_type(&self) -> u8 {
        match self {
            Self::Classic(r) => r.acq_type(),
            Self::Generic1x(_) => 10,
            Self::GenericHrpd(_) => 11,
            Self::Other { acq_type, .. } => *acq_type,
        }
    }

    fn decode_body(acq_type: u8, body: Vec<u8>, index: usize) -> Result<Self, PrlError> {
        let place = Place::AcqRecord(index);
        let mut r = BitReader::new(&body);
        let mut f = Fields { r: &mut r, place };
        let rec = match acq_type {
            10 | 11 => {
                if body.len() % 2 != 0 {
                    return Err(PrlError::BadRecordLength {
                        place,
                        length: body.len(),
                        problem: "is not a whole number of BAND_CLASS/CHAN pairs",
                    });
                }
                let pairs = (0..body.len() / 2)
                    .map(|_| {
                        Ok(BandChan {
                            band_class: f.u8("BAND_CLASS", 5)?,
                            chan: f.u16("CHAN", 11)?,
                        })
                    })
                    .collect::<Result<Vec<_>, PrlError>>()?;
                if acq_type == 10 {
                    Self::Generic1x(pairs)
                } else {
                    Self::GenericHrpd(pairs)
                }
            }
            _ => match AcqRecord::read_body(&mut f, acq_type)? {
                Some(rec) => Self::Classic(rec),
                None => return Ok(Self::Other { acq_type, body }),
            },
        };
        let left = r.remaining();
        if left >= 8 {
            return Err(PrlError::UnusedBits { place, bits: left });
        }
        Ok(rec)
    }

    fn encode(&self, w: &mut BitWriter, place: Place) -> Result<(), PrlError> {
        let body = match self {
            Self::Classic(rec) => {
                let mut b = BitWriter::new();
                rec.write_body(&mut b, place)?;
                b.finish()
            }
            Self::Generic1x(pairs) | Self::GenericHrpd(pairs) => {
                check_count(place, "BAND_CLASS/CHAN pairs", pairs.len(), 7)?;
                let mut b = BitWriter::new();
                for p in pairs {
                    put(&mut b, place, "BAND_CLASS", u64::from(p.band_class), 5)?;
                    put(&mut b, place, "CHAN", u64::from(p.chan), 11)?;
                }
                b.finish()
            }
            Self::Other { acq_type, body } => {
                if (1..=11).contains(acq_type) {
                    return Err(PrlError::Invalid {
                        place,
                        problem: "ACQ_TYPE 1 to 11 must use their typed variants, not Other",
                    });
                }
                body.clone()
            }
        };
        let length = u8::try_from(body.len()).map_err(|_| PrlError::BadRecordLength {
            place,
            length: body.len(),
            problem: "exceeds the 255 octets LENGTH can say",
        })?;
        w.write(u64::from(self.acq_type()), 8);
        w.write(u64::from(length), 8);
        w.bytes(&body);
        Ok(())
    }
}

fn read_association(f: &mut Fields<'_, '_>) -> Result<Option<Association>, PrlError> {
    if !f.flag("ASSOCIATION_INC")? {
        return Ok(None);
    }
    Ok(Some(Association {
        association_tag: f.u8("ASSOCIATION_TAG", 8)?,
        pn_association: f.flag("PN_ASSOCIATION")?,
        data_association: f.flag("DATA_ASSOCIATION")?,
    }))
}

fn write_roam_and_association(
    w: &mut BitWriter,
    roam_ind: Option<u8>,
    association: Option<Association>,
) {
    if let Some(r) = roam_ind {
        w.write(u64::from(r), 8);
    }
    w.flag(association.is_some());
    if let Some(a) = association {
        w.write(u64::from(a.association_tag), 8);
        w.flag(a.pn_association);
        w.flag(a.data_association);
    }
}

impl ExtSysRecord {
    /// Decodes one record from exactly its SYS_RECORD_LENGTH octets.
    fn decode(
        rec: &[u8],
        index: usize,
        num_acq_recs: usize,
        subnet_starts: &[usize],
    ) -> Result<Self, PrlError> {
        let place = Place::SysRecord(index);
        let mut r = BitReader::new(rec);
        let mut f = Fields { r: &mut r, place };
        f.skip("SYS_RECORD_LENGTH", 5)?;
        let sys_record_type = f.u8("SYS_RECORD_TYPE", 4)?;
        let pref_neg = f.flag("PREF_NEG")?;
        let geo = f.flag("GEO")?;
        let pri = f.flag("PRI")?;
        let acq_index = f.u16("ACQ_INDEX", 9)?;
        check_acq_index(index, acq_index, num_acq_recs)?;
        let system = match sys_record_type {
            0 => {
                f.skip("RESERVED", 1)?;
                let nid_incl = f.u8("NID_INCL", 2)?;
                let sid = f.u16("SID", 15)?;
                let nid = Nid::read(&mut f, nid_incl, index)?;
                let roam_ind = if pref_neg {
                    Some(f.u8("ROAM_IND", 8)?)
                } else {
                    None
                };
                let association = read_association(&mut f)?;
                ExtSystem::Cdma2000 {
                    sid,
                    nid,
                    roam_ind,
                    association,
                }
            }
            1 => {
                f.skip("RESERVED", 3)?;
                let common_included = f.flag("SUBNET_COMMON_INCLUDED")?;
                let lsb_len = usize::from(f.u8("SUBNET_LSB_LENGTH", 7)?);
                let subnet_lsb = RawBits::read(&mut f, "SUBNET_LSB", lsb_len)?;
                let subnet_common_offset = if common_included {
                    let offset = f.u16("SUBNET_COMMON_OFFSET", 12)?;
                    check_subnet_offset(index, offset, subnet_starts)?;
                    Some(offset)
                } else {
                    None
                };
                let roam_ind = if pref_neg {
                    Some(f.u8("ROAM_IND", 8)?)
                } else {
                    None
                };
                let association = read_association(&mut f)?;
                ExtSystem::Hrpd {
                    subnet_lsb,
                    subnet_common_offset,
                    roam_ind,
                    association,
                }
            }
            _ => {
                let bits = f.r.remaining();
                let tail = RawBits::read(&mut f, "system record tail", bits)?;
                ExtSystem::Other {
                    sys_record_type,
                    pref_neg,
                    tail,
                }
            }
        };
        let left = r.remaining();
        if left >= 8 {
            return Err(PrlError::UnusedBits { place, bits: left });
        }
        Ok(Self {
            geo,
            pri,
            acq_index,
            system,
        })
    }

    /// Encodes one record (whole octets, SYS_RECORD_LENGTH filled in).
    fn encode(
        &self,
        place: Place,
        index: usize,
        subnet_starts: &[usize],
    ) -> Result<Vec<u8>, PrlError> {
        let mut w = BitWriter::new();
        w.write(0, 5); // SYS_RECORD_LENGTH, filled in below
        let sys_record_type = self.system.sys_record_type();
        put(
            &mut w,
            place,
            "SYS_RECORD_TYPE",
            u64::from(sys_record_type),
            4,
        )?;
        w.flag(self.system.pref_neg());
        w.flag(self.geo);
        w.flag(self.pri);
        put(&mut w, place, "ACQ_INDEX", u64::from(self.acq_index), 9)?;
        match &self.system {
            ExtSystem::Cdma2000 {
                sid,
                nid,
                roam_ind,
                association,
            } => {
                w.write(0, 1);
                w.write(u64::from(nid.nid_incl()), 2);
                put(&mut w, place, "SID", u64::from(*sid), 15)?;
                nid.write_nid(&mut w);
                write_roam_and_association(&mut w, *roam_ind, *association);
            }
            ExtSystem::Hrpd {
                subnet_lsb,
                subnet_common_offset,
                roam_ind,
                association,
            } => {
                w.write(0, 3);
                w.flag(subnet_common_offset.is_some());
                put(
                    &mut w,
                    place,
                    "SUBNET_LSB_LENGTH",
                    subnet_lsb.bit_len() as u64,
                    7,
                )?;
                subnet_lsb.write(&mut w);
                if let Some(offset) = *subnet_common_offset {
                    check_subnet_offset(index, offset, subnet_starts)?;
                    put(&mut w, place, "SUBNET_COMMON_OFFSET", u64::from(offset), 12)?;
                }
                write_roam_and_association(&mut w, *roam_ind, *association);
            }
            ExtSystem::Other { tail, .. } => {
                if sys_record_type < 2 {
                    return Err(PrlError::Invalid {
                        place,
                        problem: "SYS_RECORD_TYPE 0 and 1 must use their typed variants, not Other",
                    });
                }
                if (SYS_FIXED_BITS + tail.bit_len()) % 8 != 0 {
                    return Err(PrlError::Invalid {
                        place,
                        problem: "a raw record's tail must end the record on an octet boundary",
                    });
                }
                tail.write(&mut w);
            }
        }
        let mut bytes = w.finish();
        if bytes.len() > MAX_SYS_RECORD_OCTETS {
            return Err(PrlError::BadRecordLength {
                place,
                length: bytes.len(),
                problem: "exceeds the 31 octets SYS_RECORD_LENGTH can say",
            });
        }
        let length = bytes.len() as u8;
        if let Some(first) = bytes.first_mut() {
            *first |= length << 3;
        }
        Ok(bytes)
    }
}

fn check_subnet_offset(index: usize, offset: u16, subnet_starts: &[usize]) -> Result<(), PrlError> {
    if subnet_starts.binary_search(&usize::from(offset)).is_ok() {
        Ok(())
    } else {
        Err(PrlError::BadSubnetOffset { index, offset })
    }
}

/// Octet offsets of each common subnet record from the start of the table.
fn subnet_starts(records: &[CommonSubnetRecord]) -> Vec<usize> {
    let mut at = 0;
    records
        .iter()
        .map(|r| {
            let start = at;
            at += 1 + r.subnet_common.len();
            start
        })
        .collect()
}

impl ExtendedPrl {
    /// Decodes an extended PRL, checking PR_LIST_SIZE, PR_LIST_CRC, CUR_SSPR_P_REV, every record's
    /// framing and fields, every ACQ_INDEX and SUBNET_COMMON_OFFSET.
    pub fn decode(bytes: &[u8]) -> Result<Self, PrlError> {
        let body = check_frame(bytes)?;
        let mut r = BitReader::new(body);
        let mut f = Fields {
            r: &mut r,
            place: Place::Header,
        };
        f.skip("PR_LIST_SIZE", 16)?;
        let pr_list_id = f.u16("PR_LIST_ID", 16)?;
        let cur_sspr_p_rev = f.u8("CUR_SSPR_P_REV", 8)?;
        if cur_sspr_p_rev != CUR_SSPR_P_REV {
            return Err(PrlError::UnsupportedSsprPRev { cur_sspr_p_rev });
        }
        let pref_only = f.flag("PREF_ONLY")?;
        let def_roam_ind = f.u8("DEF_ROAM_IND", 8)?;
        let num_acq_recs = usize::from(f.u16("NUM_ACQ_RECS", 9)?);
        let num_common_subnet_recs = usize::from(f.u16("NUM_COMMON_SUBNET_RECS", 9)?);
        let num_sys_recs = usize::from(f.u16("NUM_SYS_RECS", 14)?);
        f.skip("RESERVED", 7)?;

        let mut acq_records = Vec::with_capacity(capacity(num_acq_recs, f.r.remaining(), 16));
        for index in 0..num_acq_recs {
            f.place = Place::AcqRecord(index);
            let acq_type = f.u8("ACQ_TYPE", 8)?;
            let length = usize::from(f.u8("LENGTH", 8)?);
            let rec_body = f.bytes("acquisition record body", length)?;
            acq_records.push(ExtAcqRecord::decode_body(acq_type, rec_body, index)?);
        }

        let mut common_subnet_records =
            Vec::with_capacity(capacity(num_common_subnet_recs, f.r.remaining(), 8));
        for index in 0..num_common_subnet_recs {
            f.place = Place::CommonSubnetRecord(index);
            f.skip("RESERVED", 4)?;
            let len = usize::from(f.u8("SUBNET_COMMON_LENGTH", 4)?);
            common_subnet_records.push(CommonSubnetRecord {
                subnet_common: f.bytes("SUBNET_COMMON", len)?,
            });
        }
        let starts = subnet_starts(&common_subnet_records);

        let mut sys_records =
            Vec::with_capacity(capacity(num_sys_recs, f.r.remaining(), SYS_FIXED_BITS));
        for index in 0..num_sys_recs {
            let place = Place::SysRecord(index);
            f.place = place;
            // Every table starts on an octet and every record is whole octets, so this record
            // starts at an octet boundary.
            let start = f.r.position() / 8;
            let length = usize::from(f.u8("SYS_RECORD_LENGTH", 5)?);
            if length * 8 < SYS_FIXED_BITS {
                return Err(PrlError::BadRecordLength {
                    place,
                    length,
                    problem: "is shorter than the 3 octets every system record needs",
                });
            }
            f.skip("system record", length * 8 - 5)?;
            let rec = body.get(start..start + length).ok_or(PrlError::Truncated {
                place,
                source: BitError::ShortInput {
                    field: "system record",
                    needed: length * 8,
                    available: body.len() * 8,
                },
            })?;
            sys_records.push(ExtSysRecord::decode(rec, index, num_acq_recs, &starts)?);
        }

        let left = r.remaining();
        if left >= 8 {
            return Err(PrlError::UnusedBits {
                place: Place::Trailer,
                bits: left,
            });
        }
        Ok(Self {
            pr_list_id,
            pref_only,
            def_roam_ind,
            acq_records,
            common_subnet_records,
            sys_records,
        })
    }

    /// Encodes the PRL, computing PR_LIST_SIZE, every record length and PR_LIST_CRC. Fails on a
    /// value too wide for its field, too many records, a record too long for its length field,
    /// a bad ACQ_INDEX or SUBNET_COMMON_OFFSET, or a PRL over 65535 octets.
    pub fn encode(&self) -> Result<Vec<u8>, PrlError> {
        let mut w = BitWriter::new();
        w.write(0, 16); // PR_LIST_SIZE, filled in by finish_frame
        w.write(u64::from(self.pr_list_id), 16);
        w.write(u64::from(CUR_SSPR_P_REV), 8);
        w.flag(self.pref_only);
        w.write(u64::from(self.def_roam_ind), 8);
        check_count(Place::Header, "NUM_ACQ_RECS", self.acq_records.len(), 9)?;
        check_count(
            Place::Header,
            "NUM_COMMON_SUBNET_RECS",
            self.common_subnet_records.len(),
            9,
        )?;
        check_count(Place::Header, "NUM_SYS_RECS", self.sys_records.len(), 14)?;
        w.write(self.acq_records.len() as u64, 9);
        w.write(self.common_subnet_records.len() as u64, 9);
        w.write(self.sys_records.len() as u64, 14);
        w.write(0, 7);
        for (i, rec) in self.acq_records.iter().enumerate() {
            rec.encode(&mut w, Place::AcqRecord(i))?;
        }
        for (i, rec) in self.common_subnet_records.iter().enumerate() {
            let place = Place::CommonSubnetRecord(i);
            check_count(place, "SUBNET_COMMON_LENGTH", rec.subnet_common.len(), 4)?;
            w.write(0, 4);
            w.write(rec.subnet_common.len() as u64, 4);
            w.bytes(&rec.subnet_common);
        }
        let starts = subnet_starts(&self.common_subnet_records);
        for (i, rec) in self.sys_records.iter().enumerate() {
            check_acq_index(i, rec.acq_index, self.acq_records.len())?;
            let bytes = rec.encode(Place::SysRecord(i), i, &starts)?;
            w.bytes(&bytes);
        }
        finish_frame(w)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::prl::classic::tests::{acq_record, nid, reframe};
    use crate::prl::{pr_list_crc, Prl, PrlFormat};
    use proptest::prelude::*;

    fn sample() -> ExtendedPrl {
        ExtendedPrl {
            pr_list_id: 0x2001,
            pref_only: true,
            def_roam_ind: 1,
            acq_records: vec![
                ExtAcqRecord::Generic1x(vec![
                    BandChan {
                        band_class: 1,
                        chan: 25,
                    },
                    BandChan {
                        band_class: 0,
                        chan: 283,
                    },
                ]),
                ExtAcqRecord::GenericHrpd(vec![BandChan {
                    band_class: 1,
                    chan: 75,
                }]),
                ExtAcqRecord::Classic(AcqRecord::PcsCdmaBlocks { blocks: vec![7] }),
                ExtAcqRecord::Other {
                    acq_type: 16,
                    body: vec![1, 2, 3],
                },
            ],
            common_subnet_records: vec![
                CommonSubnetRecord {
                    subnet_common: vec![0x20, 0x01, 0x0D, 0xB8],
                },
                CommonSubnetRecord {
                    subnet_common: vec![0xFE, 0x80],
                },
            ],
            sys_records: vec![
                ExtSysRecord {
                    geo: false,
                    pri: true,
                    acq_index: 0,
                    system: ExtSystem::Cdma2000 {
                        sid: 4139,
                        nid: Nid::Wildcard,
                        roam_ind: Some(0),
                        association: Some(Association {
                            association_tag: 7,
                            pn_association: true,
                            data_association: true,
                        }),
                    },
                },
                ExtSysRecord {
                    geo: true,
                    pri: false,
                    acq_index: 1,
                    system: ExtSystem::Hrpd {
                        subnet_lsb: RawBits::new(vec![0xAB, 0xC0], 12).unwrap(),
                        subnet_common_offset: Some(5),
                        roam_ind: Some(1),
                        association: None,
                    },
                },
                ExtSysRecord {
                    geo: true,
                    pri: false,
                    acq_index: 3,
                    system: ExtSystem::Other {
                        sys_record_type: 3,
                        pref_neg: false,
                        tail: RawBits::new(vec![0x31, 0x0F, 0x00, 0x00], 27).unwrap(),
                    },
                },
            ],
        }
    }

    #[test]
    fn sample_round_trips_and_is_framed() {
        let bytes = sample().encode().unwrap();
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[0], bytes[1]])),
            bytes.len()
        );
        assert_eq!(bytes[4], CUR_SSPR_P_REV);
        let n = bytes.len();
        assert_eq!(
            pr_list_crc(&bytes[..n - 2]),
            u16::from_be_bytes([bytes[n - 2], bytes[n - 1]])
        );
        assert_eq!(ExtendedPrl::decode(&bytes).unwrap(), sample());
        // Without a hint the CUR_SSPR_P_REV octet steers the guess.
        assert_eq!(Prl::decode(&bytes, None).unwrap(), Prl::Extended(sample()));
        let summary = Prl::validate(&bytes, Some(3)).unwrap();
        assert_eq!(summary.format, PrlFormat::Extended);
        assert_eq!(
            (
                summary.num_acq_recs,
                summary.num_common_subnet_recs,
                summary.num_sys_recs
            ),
            (4, 2, 3)
        );
    }

    #[test]
    fn generic_record_layout() {
        // ACQ_TYPE 10, LENGTH 4, {1, 25} = 00001 00000011001, {0, 283} = 00000 00100011011.
        let prl = ExtendedPrl {
            acq_records: vec![sample().acq_records[0].clone()],
            ..empty()
        };
        let bytes = prl.encode().unwrap();
        assert_eq!(&bytes[11..17], &[10, 4, 0x08, 0x19, 0x01, 0x1B]);
    }

    fn empty() -> ExtendedPrl {
        ExtendedPrl {
            pr_list_id: 1,
            pref_only: false,
            def_roam_ind: 0,
            acq_records: vec![],
            common_subnet_records: vec![],
            sys_records: vec![],
        }
    }

    #[test]
    fn bad_acq_index_and_subnet_offset_rejected() {
        let mut prl = sample();
        prl.sys_records[0].acq_index = 4;
        assert_eq!(
            prl.encode(),
            Err(PrlError::AcqIndexOutOfRange {
                index: 0,
                acq_index: 4,
                num_acq_recs: 4
            })
        );
        let mut prl = sample();
        if let ExtSystem::Hrpd {
            subnet_common_offset,
            ..
        } = &mut prl.sys_records[1].system
        {
            *subnet_common_offset = Some(3);
        }
        assert_eq!(
            prl.encode(),
            Err(PrlError::BadSubnetOffset {
                index: 1,
                offset: 3
            })
        );
    }

    #[test]
    fn wrong_size_crc_and_p_rev_rejected() {
        let bytes = sample().encode().unwrap();
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            ExtendedPrl::decode(&longer),
            Err(PrlError::WrongSize { .. })
        ));
        let mut flipped = bytes.clone();
        flipped[12] ^= 0x40;
        assert!(matches!(
            ExtendedPrl::decode(&flipped),
            Err(PrlError::BadCrc { .. })
        ));
        let mut rev = bytes[..bytes.len() - 2].to_vec();
        rev[4] = 4;
        assert_eq!(
            ExtendedPrl::decode(&reframe(rev)).map(|_| ()),
            Err(PrlError::UnsupportedSsprPRev { cur_sspr_p_rev: 4 })
        );
    }

    #[test]
    fn raw_bits_masks_and_checks() {
        let b = RawBits::new(vec![0xFF, 0xFF, 0xFF], 10).unwrap();
        assert_eq!(b.as_bytes(), &[0xFF, 0xC0]);
        assert_eq!(b.bit_len(), 10);
        assert!(RawBits::new(vec![0xFF], 9).is_none());
    }

    fn raw_bits(max_bits: usize) -> impl Strategy<Value = RawBits> {
        (0..=max_bits).prop_flat_map(|n| {
            proptest::collection::vec(any::<u8>(), n.div_ceil(8))
                .prop_map(move |d| RawBits::new(d, n).unwrap())
        })
    }

    fn association() -> impl Strategy<Value = Option<Association>> {
        proptest::option::of(
            (any::<u8>(), any::<bool>(), any::<bool>()).prop_map(|(t, p, d)| Association {
                association_tag: t,
                pn_association: p,
                data_association: d,
            }),
        )
    }

    fn ext_acq_record() -> impl Strategy<Value = ExtAcqRecord> {
        let pairs = || {
            proptest::collection::vec(
                (0u8..32, 0u16..2048).prop_map(|(band_class, chan)| BandChan { band_class, chan }),
                0..=20,
            )
        };
        prop_oneof![
            acq_record().prop_map(ExtAcqRecord::Classic),
            pairs().prop_map(ExtAcqRecord::Generic1x),
            pairs().prop_map(ExtAcqRecord::GenericHrpd),
            (
                prop_oneof![Just(0u8), 12u8..=255],
                proptest::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(acq_type, body)| ExtAcqRecord::Other { acq_type, body }),
        ]
    }

    fn ext_system(starts: Vec<usize>) -> impl Strategy<Value = ExtSystem> {
        let offset = if starts.is_empty() {
            Just(None).boxed()
        } else {
            proptest::option::of(proptest::sample::select(starts).prop_map(|s| s as u16)).boxed()
        };
        prop_oneof![
            (
                0u16..0x8000,
                nid(),
                proptest::option::of(any::<u8>()),
                association()
            )
                .prop_map(|(sid, nid, roam_ind, association)| ExtSystem::Cdma2000 {
                    sid,
                    nid,
                    roam_ind,
                    association
                }),
            (
                raw_bits(127),
                offset,
                proptest::option::of(any::<u8>()),
                association()
            )
                .prop_map(
                    |(subnet_lsb, subnet_common_offset, roam_ind, association)| ExtSystem::Hrpd {
                        subnet_lsb,
                        subnet_common_offset,
                        roam_ind,
                        association
                    }
                ),
            (2u8..16, any::<bool>(), 0usize..=28).prop_flat_map(|(t, p, k)| {
                proptest::collection::vec(any::<u8>(), k + 1).prop_map(move |d| ExtSystem::Other {
                    sys_record_type: t,
                    pref_neg: p,
                    tail: RawBits::new(d, 8 * k + 3).unwrap(),
                })
            }),
        ]
    }

    fn extended_prl() -> impl Strategy<Value = ExtendedPrl> {
        (
            proptest::collection::vec(ext_acq_record(), 1..8),
            proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..=15)
                    .prop_map(|subnet_common| CommonSubnetRecord { subnet_common }),
                0..5,
            ),
        )
            .prop_flat_map(|(acq_records, subnets)| {
                let n = acq_records.len() as u16;
                let starts = subnet_starts(&subnets);
                let sys = (any::<bool>(), any::<bool>(), 0..n, ext_system(starts)).prop_map(
                    |(geo, pri, acq_index, system)| ExtSysRecord {
                        geo,
                        pri,
                        acq_index,
                        system,
                    },
                );
                (
                    any::<u16>(),
                    any::<bool>(),
                    any::<u8>(),
                    Just(acq_records),
                    Just(subnets),
                    proptest::collection::vec(sys, 0..12),
                )
                    .prop_map(
                        |(
                            pr_list_id,
                            pref_only,
                            def_roam_ind,
                            acq_records,
                            common_subnet_records,
                            sys_records,
                        )| {
                            ExtendedPrl {
                                pr_list_id,
                                pref_only,
                                def_roam_ind,
                                acq_records,
                                common_subnet_records,
                                sys_records,
                            }
                        },
                    )
            })
    }

    proptest! {
        #[test]
        fn round_trip(prl in extended_prl()) {
            let bytes = prl.encode().unwrap();
            prop_assert_eq!(ExtendedPrl::decode(&bytes).unwrap(), prl.clone());
            prop_assert_eq!(Prl::decode(&bytes, Some(3)).unwrap(), Prl::Extended(prl));
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ExtendedPrl::decode(&data);
            let mut framed = reframe(data);
            let _ = ExtendedPrl::decode(&framed);
            // Force CUR_SSPR_P_REV = 3 so decoding reaches the tables.
            if framed.len() > 6 {
                framed[4] = CUR_SSPR_P_REV;
                let n = framed.len();
                let crc = pr_list_crc(&framed[..n - 2]);
                framed[n - 2..].copy_from_slice(&crc.to_be_bytes());
                let _ = ExtendedPrl::decode(&framed);
                let _ = Prl::decode(&framed, None);
            }
        }
    }
}
