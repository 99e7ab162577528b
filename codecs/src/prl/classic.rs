//! The classic PRL (SSPR_P_REV 1, C.S0016 §3.5.3).
//!
//! Field table (widths in bits), everything packed MSB first with no alignment:
//!
//! | field | bits | notes |
//! |---|---|---|
//! | PR_LIST_SIZE | 16 | total octets, including itself and the CRC |
//! | PR_LIST_ID | 16 | |
//! | PREF_ONLY | 1 | only preferred systems may be used |
//! | DEF_ROAM_IND | 8 | roaming indicator for systems not in the list |
//! | NUM_ACQ_RECS | 9 | |
//! | NUM_SYS_RECS | 14 | |
//! | acquisition records | | ACQ_TYPE 4 + type fields, see [`AcqRecord`] |
//! | system records | | see [`SysRecord`] |
//! | RESERVED | 0-7 | pad to an octet |
//! | PR_LIST_CRC | 16 | see [`super::crc`] |
//!
//! System record: SID 15, NID_INCL 2, [NID 16 if NID_INCL = 01], PREF_NEG 1, GEO 1,
//! [PRI 1 if PREF_NEG = 1], ACQ_INDEX 9, [ROAM_IND 8 if PREF_NEG = 1].

use crate::bits::{BitReader, BitWriter};

use super::{capacity, check_count, check_frame, finish_frame, put, Fields, Place, PrlError};

/// A classic (SSPR_P_REV 1) PRL. PR_LIST_SIZE and PR_LIST_CRC are not stored: [`ClassicPrl::encode`]
/// computes them and [`ClassicPrl::decode`] checks them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassicPrl {
    /// PR_LIST_ID: the operator's version number for this list.
    pub pr_list_id: u16,
    /// PREF_ONLY: the mobile may use only systems the list marks preferred.
    pub pref_only: bool,
    /// DEF_ROAM_IND: roaming indicator for systems the list does not name.
    pub def_roam_ind: u8,
    /// The acquisition table (NUM_ACQ_RECS, at most 511).
    pub acq_records: Vec<AcqRecord>,
    /// The system table (NUM_SYS_RECS, at most 16383).
    pub sys_records: Vec<SysRecord>,
}

/// An acquisition record: where and how to look for a system. The same fields form the bodies of
/// extended-PRL acquisition records of ACQ_TYPE 1 to 9.
///
/// A_B: 0 = system A, 1 = system B, 2 reserved, 3 = either. PRI_SEC: 1 = primary channel,
/// 2 = secondary, 3 = either. BLOCK: 0-5 = PCS blocks A-F, 7 = any block. CHAN: 11-bit channel
/// numbers. Values are kept as numbers and only checked for width.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcqRecord {
    /// ACQ_TYPE 1: cellular analog. A_B 2.
    CellularAnalog {
        /// A_B.
        a_b: u8,
    },
    /// ACQ_TYPE 2: cellular CDMA, standard channels. A_B 2, PRI_SEC 2.
    CellularCdmaStandard {
        /// A_B.
        a_b: u8,
        /// PRI_SEC.
        pri_sec: u8,
    },
    /// ACQ_TYPE 3: cellular CDMA, custom channels. NUM_CHANS 5, CHAN 11 each.
    CellularCdmaCustom {
        /// CHAN list (at most 31).
        chans: Vec<u16>,
    },
    /// ACQ_TYPE 4: cellular CDMA preferred (analog if CDMA fails). A_B 2.
    CellularCdmaPreferred {
        /// A_B.
        a_b: u8,
    },
    /// ACQ_TYPE 5: PCS CDMA by frequency block. NUM_BLOCKS 3, BLOCK 3 each.
    PcsCdmaBlocks {
        /// BLOCK list (at most 7).
        blocks: Vec<u8>,
    },
    /// ACQ_TYPE 6: PCS CDMA by channel. NUM_CHANS 5, CHAN 11 each.
    PcsCdmaChannels {
        /// CHAN list (at most 31).
        chans: Vec<u16>,
    },
    /// ACQ_TYPE 7: JTACS CDMA, standard channels. A_B 2, PRI_SEC 2.
    JtacsCdmaStandard {
        /// A_B.
        a_b: u8,
        /// PRI_SEC.
        pri_sec: u8,
    },
    /// ACQ_TYPE 8: JTACS CDMA, custom channels. NUM_CHANS 5, CHAN 11 each.
    JtacsCdmaCustom {
        /// CHAN list (at most 31).
        chans: Vec<u16>,
    },
    /// ACQ_TYPE 9: 2 GHz band CDMA by channel. NUM_CHANS 5, CHAN 11 each.
    TwoGhzChannels {
        /// CHAN list (at most 31).
        chans: Vec<u16>,
    },
}

/// NID_INCL and the NID it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nid {
    /// NID_INCL = 00: no NID field; NID 65535 (any network in the SID).
    Wildcard,
    /// NID_INCL = 01: a NID field follows.
    Included(u16),
    /// NID_INCL = 10: no NID field; NID 0 (the public system).
    Public,
}

impl Nid {
    /// NID_INCL value.
    pub fn nid_incl(self) -> u8 {
        match self {
            Self::Wildcard => 0b00,
            Self::Included(_) => 0b01,
            Self::Public => 0b10,
        }
    }

    /// The NID this stands for.
    pub fn nid(self) -> u16 {
        match self {
            Self::Wildcard => 65535,
            Self::Included(n) => n,
            Self::Public => 0,
        }
    }

    pub(crate) fn read(
        f: &mut Fields<'_, '_>,
        nid_incl: u8,
        index: usize,
    ) -> Result<Self, PrlError> {
        match nid_incl {
            0b00 => Ok(Self::Wildcard),
            0b01 => Ok(Self::Included(f.u16("NID", 16)?)),
            0b10 => Ok(Self::Public),
            _ => Err(PrlError::ReservedNidIncl { index }),
        }
    }

    pub(crate) fn write_nid(self, w: &mut BitWriter) {
        if let Self::Included(n) = self {
            w.write(u64::from(n), 16);
        }
    }
}

/// PREF_NEG and the fields present only for a preferred system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrefNeg {
    /// PREF_NEG = 0: the mobile must not use this system.
    Negative,
    /// PREF_NEG = 1: the mobile may use this system.
    Preferred {
        /// PRI: more desirable than the previous system in the same GEO area.
        pri: bool,
        /// ROAM_IND: roaming indicator to display.
        roam_ind: u8,
    },
}

/// A classic system record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SysRecord {
    /// SID (15 bits).
    pub sid: u16,
    /// NID_INCL and NID.
    pub nid: Nid,
    /// PREF_NEG with PRI and ROAM_IND.
    pub pref_neg: PrefNeg,
    /// GEO: this record belongs to the same geographic area as the previous one.
    pub geo: bool,
    /// ACQ_INDEX: the acquisition record to use (9 bits).
    pub acq_index: u16,
}

/// Fewest bits an acquisition record can take (ACQ_TYPE + A_B).
const MIN_ACQ_BITS: usize = 6;
/// Fewest bits a system record can take.
const MIN_SYS_BITS: usize = 15 + 2 + 1 + 1 + 9;

fn read_chans(f: &mut Fields<'_, '_>) -> Result<Vec<u16>, PrlError> {
    let n = f.u8("NUM_CHANS", 5)?;
    (0..n).map(|_| f.u16("CHAN", 11)).collect()
}

fn write_chans(w: &mut BitWriter, place: Place, chans: &[u16]) -> Result<(), PrlError> {
    check_count(place, "NUM_CHANS", chans.len(), 5)?;
    w.write(chans.len() as u64, 5);
    for &c in chans {
        put(w, place, "CHAN", u64::from(c), 11)?;
    }
    Ok(())
}

impl AcqRecord {
    /// ACQ_TYPE of this record.
    pub fn acq_type(&self) -> u8 {
        match self {
            Self::CellularAnalog { .. } => 1,
            Self::CellularCdmaStandard { .. } => 2,
            Self::CellularCdmaCustom { .. } => 3,
            Self::CellularCdmaPreferred { .. } => 4,
            Self::PcsCdmaBlocks { .. } => 5,
            Self::PcsCdmaChannels { .. } => 6,
            Self::JtacsCdmaStandard { .. } => 7,
            Self::JtacsCdmaCustom { .. } => 8,
            Self::TwoGhzChannels { .. } => 9,
        }
    }

    /// Reads the fields after ACQ_TYPE. `None` for an ACQ_TYPE outside 1..=9.
    pub(crate) fn read_body(
        f: &mut Fields<'_, '_>,
        acq_type: u8,
    ) -> Result<Option<Self>, PrlError> {
        Ok(Some(match acq_type {
            1 => Self::CellularAnalog {
                a_b: f.u8("A_B", 2)?,
            },
            2 => Self::CellularCdmaStandard {
                a_b: f.u8("A_B", 2)?,
                pri_sec: f.u8("PRI_SEC", 2)?,
            },
            3 => Self::CellularCdmaCustom {
                chans: read_chans(f)?,
            },
            4 => Self::CellularCdmaPreferred {
                a_b: f.u8("A_B", 2)?,
            },
            5 => {
                let n = f.u8("NUM_BLOCKS", 3)?;
                let blocks = (0..n).map(|_| f.u8("BLOCK", 3)).collect::<Result<_, _>>()?;
                Self::PcsCdmaBlocks { blocks }
            }
            6 => Self::PcsCdmaChannels {
                chans: read_chans(f)?,
            },
            7 => Self::JtacsCdmaStandard {
                a_b: f.u8("A_B", 2)?,
                pri_sec: f.u8("PRI_SEC", 2)?,
            },
            8 => Self::JtacsCdmaCustom {
                chans: read_chans(f)?,
            },
            9 => Self::TwoGhzChannels {
                chans: read_chans(f)?,
            },
            _ => return Ok(None),
        }))
    }

    /// Writes the fields after ACQ_TYPE.
    pub(crate) fn write_body(&self, w: &mut BitWriter, place: Place) -> Result<(), PrlError> {
        match self {
            Self::CellularAnalog { a_b } | Self::CellularCdmaPreferred { a_b } => {
                put(w, place, "A_B", u64::from(*a_b), 2)
            }
            Self::CellularCdmaStandard { a_b, pri_sec }
            | Self::JtacsCdmaStandard { a_b, pri_sec } => {
                put(w, place, "A_B", u64::from(*a_b), 2)?;
                put(w, place, "PRI_SEC", u64::from(*pri_sec), 2)
            }
            Self::CellularCdmaCustom { chans }
            | Self::PcsCdmaChannels { chans }
            | Self::JtacsCdmaCustom { chans }
            | Self::TwoGhzChannels { chans } => write_chans(w, place, chans),
            Self::PcsCdmaBlocks { blocks } => {
                check_count(place, "NUM_BLOCKS", blocks.len(), 3)?;
                w.write(blocks.len() as u64, 3);
                for &b in blocks {
                    put(w, place, "BLOCK", u64::from(b), 3)?;
                }
                Ok(())
            }
        }
    }
}

impl SysRecord {
    fn read(f: &mut Fields<'_, '_>, index: usize) -> Result<Self, PrlError> {
        let sid = f.u16("SID", 15)?;
        let nid_incl = f.u8("NID_INCL", 2)?;
        let nid = Nid::read(f, nid_incl, index)?;
        let preferred = f.flag("PREF_NEG")?;
        let geo = f.flag("GEO")?;
        let pri = if preferred { f.flag("PRI")? } else { false };
        let acq_index = f.u16("ACQ_INDEX", 9)?;
        let pref_neg = if preferred {
            PrefNeg::Preferred {
                pri,
                roam_ind: f.u8("ROAM_IND", 8)?,
            }
        } else {
            PrefNeg::Negative
        };
        Ok(Self {
            sid,
            nid,
            pref_neg,
            geo,
            acq_index,
        })
    }

    fn write(&self, w: &mut BitWriter, place: Place) -> Result<(), PrlError> {
        put(w, place, "SID", u64::from(self.sid), 15)?;
        w.write(u64::from(self.nid.nid_incl()), 2);
        self.nid.write_nid(w);
        w.flag(matches!(self.pref_neg, PrefNeg::Preferred { .. }));
        w.flag(self.geo);
        if let PrefNeg::Preferred { pri, .. } = self.pref_neg {
            w.flag(pri);
        }
        put(w, place, "ACQ_INDEX", u64::from(self.acq_index), 9)?;
        if let PrefNeg::Preferred { roam_ind, .. } = self.pref_neg {
            w.write(u64::from(roam_ind), 8);
        }
        Ok(())
    }
}

/// Checks a system record's ACQ_INDEX against the acquisition table size.
pub(crate) fn check_acq_index(
    index: usize,
    acq_index: u16,
    num_acq_recs: usize,
) -> Result<(), PrlError> {
    if usize::from(acq_index) >= num_acq_recs {
        Err(PrlError::AcqIndexOutOfRange {
            index,
            acq_index,
            num_acq_recs,
        })
    } else {
        Ok(())
    }
}

impl ClassicPrl {
    /// Decodes a classic PRL, checking PR_LIST_SIZE, PR_LIST_CRC, every record, every ACQ_INDEX,
    /// and that no more than 7 pad bits precede the CRC. Pad bit values are not checked.
    pub fn decode(bytes: &[u8]) -> Result<Self, PrlError> {
        let body = check_frame(bytes)?;
        let mut r = BitReader::new(body);
        let mut f = Fields {
            r: &mut r,
            place: Place::Header,
        };
        f.skip("PR_LIST_SIZE", 16)?;
        let pr_list_id = f.u16("PR_LIST_ID", 16)?;
        let pref_only = f.flag("PREF_ONLY")?;
        let def_roam_ind = f.u8("DEF_ROAM_IND", 8)?;
        let num_acq_recs = usize::from(f.u16("NUM_ACQ_RECS", 9)?);
        let num_sys_recs = usize::from(f.u16("NUM_SYS_RECS", 14)?);

        let mut acq_records =
            Vec::with_capacity(capacity(num_acq_recs, f.r.remaining(), MIN_ACQ_BITS));
        for index in 0..num_acq_recs {
            f.place = Place::AcqRecord(index);
            let acq_type = f.u8("ACQ_TYPE", 4)?;
            match AcqRecord::read_body(&mut f, acq_type)? {
                Some(rec) => acq_records.push(rec),
                None => return Err(PrlError::UnknownAcqType { index, acq_type }),
            }
        }

        let mut sys_records =
            Vec::with_capacity(capacity(num_sys_recs, f.r.remaining(), MIN_SYS_BITS));
        for index in 0..num_sys_recs {
            f.place = Place::SysRecord(index);
            let rec = SysRecord::read(&mut f, index)?;
            check_acq_index(index, rec.acq_index, num_acq_recs)?;
            sys_records.push(rec);
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
            sys_records,
        })
    }

    /// Encodes the PRL, computing PR_LIST_SIZE and PR_LIST_CRC. Fails on a value too wide for its
    /// field, too many records or entries, an ACQ_INDEX past the acquisition table, or a PRL
    /// over 65535 octets.
    pub fn encode(&self) -> Result<Vec<u8>, PrlError> {
        let mut w = BitWriter::new();
        w.write(0, 16); // PR_LIST_SIZE, filled in by finish_frame
        w.write(u64::from(self.pr_list_id), 16);
        w.flag(self.pref_only);
        w.write(u64::from(self.def_roam_ind), 8);
        check_count(Place::Header, "NUM_ACQ_RECS", self.acq_records.len(), 9)?;
        check_count(Place::Header, "NUM_SYS_RECS", self.sys_records.len(), 14)?;
        w.write(self.acq_records.len() as u64, 9);
        w.write(self.sys_records.len() as u64, 14);
        for (i, rec) in self.acq_records.iter().enumerate() {
            w.write(u64::from(rec.acq_type()), 4);
            rec.write_body(&mut w, Place::AcqRecord(i))?;
        }
        for (i, rec) in self.sys_records.iter().enumerate() {
            check_acq_index(i, rec.acq_index, self.acq_records.len())?;
            rec.write(&mut w, Place::SysRecord(i))?;
        }
        finish_frame(w)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub(crate) mod tests {
    use super::*;
    use crate::prl::pr_list_crc;
    use proptest::prelude::*;

    /// The hand-built vector: 2 acquisition records, 2 system records.
    fn two_by_two() -> ClassicPrl {
        ClassicPrl {
            pr_list_id: 0x1234,
            pref_only: false,
            def_roam_ind: 1,
            acq_records: vec![
                AcqRecord::CellularCdmaStandard { a_b: 0, pri_sec: 1 },
                AcqRecord::PcsCdmaBlocks { blocks: vec![0, 7] },
            ],
            sys_records: vec![
                SysRecord {
                    sid: 4139,
                    nid: Nid::Wildcard,
                    pref_neg: PrefNeg::Preferred {
                        pri: true,
                        roam_ind: 0,
                    },
                    geo: false,
                    acq_index: 0,
                },
                SysRecord {
                    sid: 22,
                    nid: Nid::Included(5),
                    pref_neg: PrefNeg::Negative,
                    geo: true,
                    acq_index: 1,
                },
            ],
        }
    }

    // The same PRL written out bit by bit (MSB first):
    //
    //   PR_LIST_SIZE 16  0000000000010111            (23 octets)
    //   PR_LIST_ID   16  0001001000110100            (0x1234)
    //   PREF_ONLY     1  0
    //   DEF_ROAM_IND  8  00000001
    //   NUM_ACQ_RECS  9  000000010                   (2)
    //   NUM_SYS_RECS 14  00000000000010              (2)
    //   acq 0: ACQ_TYPE 0010, A_B 00, PRI_SEC 01
    //   acq 1: ACQ_TYPE 0101, NUM_BLOCKS 010, BLOCK 000, BLOCK 111
    //   sys 0: SID 001000000101011 (4139), NID_INCL 00, PREF_NEG 1, GEO 0, PRI 1,
    //          ACQ_INDEX 000000000, ROAM_IND 00000000
    //   sys 1: SID 000000000010110 (22), NID_INCL 01, NID 0000000000000101, PREF_NEG 0, GEO 1,
    //          ACQ_INDEX 000000001
    //   RESERVED 00                                  (166 bits so far -> 168 = 21 octets)
    //   PR_LIST_CRC 16                               (0x4179)
    //
    // The octets and the CRC were computed independently of this crate, by packing the bit string
    // above and running a bitwise CRC-16/GENIBUS in Python (which also gives 0xD64E for
    // "123456789"): CRC over the 21 octets = 0x4179.
    #[test]
    fn hand_built_vector() {
        let expected: [u8; 23] = [
            0x00, 0x17, 0x12, 0x34, 0x00, 0x80, 0x80, 0x02, 0x21, 0x54, 0x39, 0x02, 0xB2, 0x80,
            0x00, 0x00, 0x0B, 0x20, 0x00, 0xA8, 0x04, 0x41, 0x79,
        ];
        assert_eq!(two_by_two().encode().unwrap(), expected);
        assert_eq!(ClassicPrl::decode(&expected).unwrap(), two_by_two());
        let summary = crate::prl::Prl::validate(&expected, None).unwrap();
        assert_eq!(summary.pr_list_crc, 0x4179);
        assert_eq!(summary.pr_list_size, 23);
        assert_eq!((summary.num_acq_recs, summary.num_sys_recs), (2, 2));
        assert_eq!(summary.format, crate::prl::PrlFormat::Classic);
    }

    #[test]
    fn reserved_nid_incl_and_unknown_acq_type_rejected() {
        // Header 64 bits, acq 0 8 bits, acq 1 13 bits, sys 0 37 bits: sys 1 starts at bit 122 and
        // its NID_INCL follows the 15-bit SID.
        let mut bits = expected_bits();
        bits.replace_range(137..139, "11");
        assert_eq!(
            ClassicPrl::decode(&pack(&bits)),
            Err(PrlError::ReservedNidIncl { index: 1 })
        );
        let mut bits = expected_bits();
        bits.replace_range(64..68, "0000");
        assert_eq!(
            ClassicPrl::decode(&pack(&bits)),
            Err(PrlError::UnknownAcqType {
                index: 0,
                acq_type: 0
            })
        );
    }

    #[test]
    fn decoded_acq_index_past_table_rejected() {
        // sys 1: SID 15, NID_INCL 2, NID 16, PREF_NEG 1, GEO 1 from bit 122, then ACQ_INDEX 9.
        let mut bits = expected_bits();
        bits.replace_range(157..166, "000001100");
        let err = ClassicPrl::decode(&pack(&bits)).unwrap_err();
        assert_eq!(
            err,
            PrlError::AcqIndexOutOfRange {
                index: 1,
                acq_index: 12,
                num_acq_recs: 2
            }
        );
    }

    #[test]
    fn truncated_record_names_place_and_field() {
        // Claim 3 system records where there are 2.
        let mut bits = expected_bits();
        bits.replace_range(50..64, "00000000000011");
        let err = ClassicPrl::decode(&pack(&bits)).unwrap_err();
        assert!(
            matches!(
                err,
                PrlError::Truncated {
                    place: Place::SysRecord(2),
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().starts_with("system record 2: input ends"),
            "{err}"
        );
    }

    /// The hand-built vector's bits without the CRC.
    fn expected_bits() -> String {
        let bytes = two_by_two().encode().unwrap();
        bytes[..bytes.len() - 2]
            .iter()
            .map(|b| format!("{b:08b}"))
            .collect()
    }

    /// Packs a bit string and appends a correct CRC.
    fn pack(bits: &str) -> Vec<u8> {
        let mut bytes: Vec<u8> = (0..bits.len() / 8)
            .map(|i| u8::from_str_radix(&bits[i * 8..i * 8 + 8], 2).unwrap())
            .collect();
        let crc = pr_list_crc(&bytes);
        bytes.extend_from_slice(&crc.to_be_bytes());
        bytes
    }

    #[test]
    fn wrong_size_rejected() {
        let mut bytes = two_by_two().encode().unwrap();
        bytes.push(0);
        assert_eq!(
            ClassicPrl::decode(&bytes),
            Err(PrlError::WrongSize {
                declared: 23,
                actual: 24
            })
        );
    }

    #[test]
    fn bad_crc_rejected() {
        let mut bytes = two_by_two().encode().unwrap();
        bytes[5] ^= 0x01;
        let err = ClassicPrl::decode(&bytes).unwrap_err();
        assert!(matches!(err, PrlError::BadCrc { .. }), "{err}");
    }

    #[test]
    fn acq_index_past_table_rejected() {
        let mut prl = two_by_two();
        prl.sys_records[1].acq_index = 12;
        let err = prl.encode().unwrap_err();
        assert_eq!(
            err,
            PrlError::AcqIndexOutOfRange {
                index: 1,
                acq_index: 12,
                num_acq_recs: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "system record 1: ACQ_INDEX 12 refers past the 2 acquisition records"
        );
    }

    pub(crate) fn acq_record() -> impl Strategy<Value = AcqRecord> {
        let chans = || proptest::collection::vec(0u16..2048, 0..=31);
        prop_oneof![
            (0u8..4).prop_map(|a_b| AcqRecord::CellularAnalog { a_b }),
            (0u8..4, 0u8..4)
                .prop_map(|(a_b, pri_sec)| AcqRecord::CellularCdmaStandard { a_b, pri_sec }),
            chans().prop_map(|chans| AcqRecord::CellularCdmaCustom { chans }),
            (0u8..4).prop_map(|a_b| AcqRecord::CellularCdmaPreferred { a_b }),
            proptest::collection::vec(0u8..8, 0..=7)
                .prop_map(|blocks| AcqRecord::PcsCdmaBlocks { blocks }),
            chans().prop_map(|chans| AcqRecord::PcsCdmaChannels { chans }),
            (0u8..4, 0u8..4)
                .prop_map(|(a_b, pri_sec)| AcqRecord::JtacsCdmaStandard { a_b, pri_sec }),
            chans().prop_map(|chans| AcqRecord::JtacsCdmaCustom { chans }),
            chans().prop_map(|chans| AcqRecord::TwoGhzChannels { chans }),
        ]
    }

    pub(crate) fn nid() -> impl Strategy<Value = Nid> {
        prop_oneof![
            Just(Nid::Wildcard),
            Just(Nid::Public),
            any::<u16>().prop_map(Nid::Included)
        ]
    }

    fn sys_record(num_acq: usize) -> impl Strategy<Value = SysRecord> {
        let pref = prop_oneof![
            Just(PrefNeg::Negative),
            (any::<bool>(), any::<u8>())
                .prop_map(|(pri, roam_ind)| PrefNeg::Preferred { pri, roam_ind }),
        ];
        (0u16..0x8000, nid(), pref, any::<bool>(), 0..num_acq as u16).prop_map(
            |(sid, nid, pref_neg, geo, acq_index)| SysRecord {
                sid,
                nid,
                pref_neg,
                geo,
                acq_index,
            },
        )
    }

    fn classic_prl() -> impl Strategy<Value = ClassicPrl> {
        proptest::collection::vec(acq_record(), 1..12).prop_flat_map(|acq_records| {
            let n = acq_records.len();
            (
                any::<u16>(),
                any::<bool>(),
                any::<u8>(),
                Just(acq_records),
                proptest::collection::vec(sys_record(n), 0..20),
            )
                .prop_map(
                    |(pr_list_id, pref_only, def_roam_ind, acq_records, sys_records)| ClassicPrl {
                        pr_list_id,
                        pref_only,
                        def_roam_ind,
                        acq_records,
                        sys_records,
                    },
                )
        })
    }

    /// Fixes PR_LIST_SIZE and PR_LIST_CRC of arbitrary octets so decoding gets past the frame.
    pub(crate) fn reframe(mut data: Vec<u8>) -> Vec<u8> {
        data.extend_from_slice(&[0, 0]);
        let len = data.len() as u16;
        data[..2].copy_from_slice(&len.to_be_bytes());
        let n = data.len();
        let crc = pr_list_crc(&data[..n - 2]);
        data[n - 2..].copy_from_slice(&crc.to_be_bytes());
        data
    }

    proptest! {
        #[test]
        fn round_trip(prl in classic_prl()) {
            let bytes = prl.encode().unwrap();
            prop_assert_eq!(bytes.len(), usize::from(u16::from_be_bytes([bytes[0], bytes[1]])));
            prop_assert_eq!(ClassicPrl::decode(&bytes).unwrap(), prl.clone());
            prop_assert_eq!(crate::prl::Prl::decode(&bytes, Some(1)).unwrap(), crate::prl::Prl::Classic(prl));
        }

        #[test]
        fn decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = ClassicPrl::decode(&data);
            let framed = reframe(data);
            let _ = ClassicPrl::decode(&framed);
            let _ = crate::prl::Prl::decode(&framed, None);
        }
    }
}
