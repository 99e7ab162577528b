//! RESULT_CODE (C.S0016 Table 3.5.1.2-1): the outcome a mobile reports for a request or block.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | accepted |
//! | 1-14 | general rejections (size, version, parameter, SPC, SPASM, BLOCK_ID ...) |
//! | 15-17 | PUZL |
//! | 18 | operation mode mismatch |
//! | 19-33 | 3GPD (SimpleIP / MobileIP NAI and shared-secret limits) |
//! | 34-35 | PRL block change / PRL format |
//! | 36-37 | HRPD access authentication |
//! | 38-41 | MMD |
//! | 42-43 | System Tag |
//! | 44-46 | MMS |
//! | 47-127, 255 | reserved |
//! | 128-254 | manufacturer specific |

macro_rules! result_codes {
    ($( $code:literal => $name:ident, $text:literal; )*) => {
        /// An IS-683 RESULT_CODE. Converts losslessly to and from `u8`: build values with
        /// `ResultCode::from(u8)` so that the catch-all variants only hold codes of their range.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ResultCode {
            $(
                #[doc = $text]
                $name,
            )*
            /// 128-254: a code the handset manufacturer defines.
            ManufacturerSpecific(u8),
            /// 47-127 and 255: reserved by the standard.
            Reserved(u8),
        }

        impl From<u8> for ResultCode {
            fn from(code: u8) -> Self {
                match code {
                    $( $code => ResultCode::$name, )*
                    128..=254 => ResultCode::ManufacturerSpecific(code),
                    other => ResultCode::Reserved(other),
                }
            }
        }

        impl From<ResultCode> for u8 {
            fn from(code: ResultCode) -> u8 {
                match code {
                    $( ResultCode::$name => $code, )*
                    ResultCode::ManufacturerSpecific(c) | ResultCode::Reserved(c) => c,
                }
            }
        }

        impl ResultCode {
            /// A short English description of the code.
            pub fn description(&self) -> &'static str {
                match self {
                    $( ResultCode::$name => $text, )*
                    ResultCode::ManufacturerSpecific(_) => "rejected: manufacturer-specific reason",
                    ResultCode::Reserved(_) => "reserved result code",
                }
            }
        }
    };
}

result_codes! {
    0 => Accepted, "accepted: operation successful";
    1 => RejectedUnknown, "rejected: reason unknown";
    2 => DataSizeMismatch, "rejected: data size mismatch";
    3 => ProtocolVersionMismatch, "rejected: protocol version mismatch";
    4 => InvalidParameter, "rejected: invalid parameter";
    5 => SidNidLengthMismatch, "rejected: SID/NID length mismatch";
    6 => MessageNotExpected, "rejected: message not expected in this mode";
    7 => BlockIdNotSupported, "rejected: BLOCK_ID value not supported";
    8 => PrlLengthMismatch, "rejected: preferred roaming list length mismatch";
    9 => CrcError, "rejected: CRC error";
    10 => MobileLocked, "rejected: mobile station locked";
    11 => InvalidSpc, "rejected: invalid SPC";
    12 => SpcChangeDenied, "rejected: SPC change denied by the user";
    13 => InvalidSpasm, "rejected: invalid SPASM";
    14 => BlockIdNotExpected, "rejected: BLOCK_ID not expected in this mode";
    15 => UserZoneAlreadyInPuzl, "rejected: user zone already in the PUZL";
    16 => UserZoneNotInPuzl, "rejected: user zone not in the PUZL";
    17 => NoEntriesInPuzl, "rejected: the PUZL has no entries";
    18 => OperationModeMismatch, "rejected: operation mode mismatch";
    19 => SimpleIpMaxNumNaiMismatch, "rejected: SimpleIP MAX_NUM_NAI mismatch";
    20 => SimpleIpMaxNaiLengthMismatch, "rejected: SimpleIP MAX_NAI_LENGTH mismatch";
    21 => MobileIpMaxNumNaiMismatch, "rejected: MobileIP MAX_NUM_NAI mismatch";
    22 => MobileIpMaxNaiLengthMismatch, "rejected: MobileIP MAX_NAI_LENGTH mismatch";
    23 => SimpleIpPapMaxSsLengthMismatch, "rejected: SimpleIP PAP MAX_SS_LENGTH mismatch";
    24 => SimpleIpChapMaxSsLengthMismatch, "rejected: SimpleIP CHAP MAX_SS_LENGTH mismatch";
    25 => MobileIpMaxMnAaaSsLengthMismatch, "rejected: MobileIP MAX_MN-AAA_SS_LENGTH mismatch";
    26 => MobileIpMaxMnHaSsLengthMismatch, "rejected: MobileIP MAX_MN-HA_SS_LENGTH mismatch";
    27 => MobileIpMnAaaAuthAlgorithmMismatch, "rejected: MobileIP MN-AAA_AUTH_ALGORITHM mismatch";
    28 => MobileIpMnHaAuthAlgorithmMismatch, "rejected: MobileIP MN-HA_AUTH_ALGORITHM mismatch";
    29 => SimpleIpActNaiEntryIndexMismatch, "rejected: SimpleIP ACT_NAI_ENTRY_INDEX mismatch";
    30 => MobileIpActNaiEntryIndexMismatch, "rejected: MobileIP ACT_NAI_ENTRY_INDEX mismatch";
    31 => SimpleIpPapNaiEntryIndexMismatch, "rejected: SimpleIP PAP NAI_ENTRY_INDEX mismatch";
    32 => SimpleIpChapNaiEntryIndexMismatch, "rejected: SimpleIP CHAP NAI_ENTRY_INDEX mismatch";
    33 => MobileIpNaiEntryIndexMismatch, "rejected: MobileIP NAI_ENTRY_INDEX mismatch";
    34 => UnexpectedPrlBlockIdChange, "rejected: unexpected PRL_BLOCK_ID change";
    35 => PrlFormatMismatch, "rejected: PRL format mismatch (e.g. classic PRL sent to an SSPR_P_REV 3 mobile)";
    36 => HrpdAccessAuthMaxNaiLengthMismatch, "rejected: HRPD access authentication MAX_NAI_LENGTH mismatch";
    37 => HrpdAccessAuthChapMaxSsLengthMismatch, "rejected: HRPD access authentication CHAP MAX_SS_LENGTH mismatch";
    38 => MmdMaxNumImpuMismatch, "rejected: MMD MAX_NUM_IMPU mismatch";
    39 => MmdMaxImpuLengthMismatch, "rejected: MMD MAX_IMPU_LENGTH mismatch";
    40 => MmdMaxNumPcscfMismatch, "rejected: MMD MAX_NUM_P-CSCF mismatch";
    41 => MmdMaxPcscfLengthMismatch, "rejected: MMD MAX_P-CSCF_LENGTH mismatch";
    42 => UnexpectedSystemTagBlockIdChange, "rejected: unexpected System Tag BLOCK_ID change";
    43 => SystemTagFormatMismatch, "rejected: System Tag format mismatch";
    44 => NumMmsUriMismatch, "rejected: NUM_MMS_URI mismatch";
    45 => MmsUriLengthMismatch, "rejected: MMS_URI_LENGTH mismatch";
    46 => InvalidMmsUri, "rejected: invalid MMS_URI";
}

impl ResultCode {
    /// Whether the mobile accepted the request (code 0).
    pub fn is_accepted(&self) -> bool {
        *self == ResultCode::Accepted
    }
}

impl std::fmt::Display for ResultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.description(), u8::from(*self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_octet_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(u8::from(ResultCode::from(code)), code);
        }
    }

    #[test]
    fn ranges_map_to_the_right_variants() {
        assert_eq!(ResultCode::from(0), ResultCode::Accepted);
        assert_eq!(ResultCode::from(9), ResultCode::CrcError);
        assert_eq!(ResultCode::from(35), ResultCode::PrlFormatMismatch);
        assert_eq!(ResultCode::from(46), ResultCode::InvalidMmsUri);
        assert_eq!(ResultCode::from(47), ResultCode::Reserved(47));
        assert_eq!(ResultCode::from(128), ResultCode::ManufacturerSpecific(128));
        assert_eq!(ResultCode::from(254), ResultCode::ManufacturerSpecific(254));
        assert_eq!(ResultCode::from(255), ResultCode::Reserved(255));
        assert!(ResultCode::Accepted.is_accepted());
        assert!(ResultCode::InvalidSpc.description().contains("SPC"));
    }
}
