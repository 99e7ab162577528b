//! Subscriber and equipment identities: ESN, MEID (and its pseudo-ESN), MIN, MDN, IMSI, MCC.
//!
//! Each identity is a validated newtype: parse it with [`str::parse`] (via [`FromStr`]) and print it
//! with [`Display`](fmt::Display). Parsing never panics; a bad string gets an [`IdentityError`]
//! whose message says what was expected and what was found.
//!
//! | type | form |
//! |---|---|
//! | [`Esn`] | 32 bits, 8 hex digits |
//! | [`Meid`] | 56 bits, 14 hex digits, optionally followed by the hex check digit |
//! | [`Min`] | 10 decimal digits |
//! | [`Mdn`] | 1 to 15 dialable digits (0-9, `*`, `#`) |
//! | [`Imsi`] | 6 to 15 decimal digits |
//! | [`Mcc`] | 3 decimal digits |
//! | [`DeviceId`] | an ESN or a MEID, told apart by length |

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why an identity string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// The string has the wrong number of characters.
    #[error("{what} must be {expected}, got {got}")]
    WrongLength {
        /// The identity being parsed ("ESN", "MEID", ...).
        what: &'static str,
        /// What a valid value looks like, e.g. "8 hex digits".
        expected: &'static str,
        /// Characters found.
        got: usize,
    },
    /// A character outside the identity's alphabet.
    #[error("{what} has {found:?} at position {position}, expected {allowed}")]
    BadCharacter {
        /// The identity being parsed.
        what: &'static str,
        /// The offending character.
        found: char,
        /// Its position, counting from 1.
        position: usize,
        /// The characters allowed, e.g. "a hex digit".
        allowed: &'static str,
    },
    /// A 15-digit MEID whose last digit is not the S.R0048 check digit.
    #[error("MEID check digit is {got}, expected {expected}")]
    CheckDigit {
        /// The check digit given.
        got: char,
        /// The check digit computed from the first 14 digits.
        expected: char,
    },
    /// A numeric value too large for the identity (e.g. a MEID above 56 bits).
    #[error("{what} value {value:#x} does not fit in {bits} bits")]
    OutOfRange {
        /// The identity being built.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The identity's width in bits.
        bits: u32,
    },
}

/// Checks every character of `s` with `ok`, reporting the first that fails.
fn check_chars(
    what: &'static str,
    s: &str,
    allowed: &'static str,
    ok: impl Fn(char) -> bool,
) -> Result<(), IdentityError> {
    match s.chars().enumerate().find(|&(_, c)| !ok(c)) {
        Some((i, found)) => Err(IdentityError::BadCharacter {
            what,
            found,
            position: i + 1,
            allowed,
        }),
        None => Ok(()),
    }
}

/// Parses exactly `digits` hex digits (either case) into a number.
fn parse_hex(
    what: &'static str,
    expected: &'static str,
    s: &str,
    digits: usize,
) -> Result<u64, IdentityError> {
    let got = s.chars().count();
    if got != digits {
        return Err(IdentityError::WrongLength {
            what,
            expected,
            got,
        });
    }
    check_chars(what, s, "a hex digit", |c| c.is_ascii_hexdigit())?;
    let mut value = 0u64;
    for c in s.chars() {
        // Every character was checked to be a hex digit above.
        value = (value << 4) | u64::from(c.to_digit(16).unwrap_or(0));
    }
    Ok(value)
}

/// Checks that `s` is decimal digits with a character count in `min..=max`.
fn check_decimal(
    what: &'static str,
    expected: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), IdentityError> {
    let got = s.chars().count();
    if got < min || got > max {
        return Err(IdentityError::WrongLength {
            what,
            expected,
            got,
        });
    }
    check_chars(what, s, "a decimal digit", |c| c.is_ascii_digit())
}

/// Electronic Serial Number: the 32-bit equipment identity of a CDMA handset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Esn(u32);

impl Esn {
    /// The top octet (manufacturer code) reserved for pseudo-ESNs derived from a MEID.
    pub const PSEUDO_MFR_CODE: u8 = 0x80;

    /// An ESN with this 32-bit value.
    pub const fn new(value: u32) -> Self {
        Self(value)
    }

    /// The 32-bit value.
    pub const fn as_u32(self) -> u32 {
        self.0
    }

    /// Whether this is a pseudo-ESN (manufacturer code 0x80), i.e. derived from a MEID and not
    /// unique to one handset.
    pub const fn is_pseudo(self) -> bool {
        (self.0 >> 24) as u8 == Self::PSEUDO_MFR_CODE
    }
}

impl From<u32> for Esn {
    fn from(value: u32) -> Self {
        Self(value)
    }
}

impl FromStr for Esn {
    type Err = IdentityError;

    /// Parses 8 hex digits, either case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let v = parse_hex("ESN", "8 hex digits", s, 8)?;
        Ok(Self(v as u32))
    }
}

impl fmt::Display for Esn {
    /// 8 uppercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

/// Mobile Equipment Identifier: the 56-bit successor of the ESN (3GPP2 S.R0048).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Meid(u64);

impl Meid {
    /// Largest MEID value (56 bits set).
    pub const MAX: u64 = (1 << 56) - 1;

    /// A MEID with this value; errors if it needs more than 56 bits.
    pub const fn new(value: u64) -> Result<Self, IdentityError> {
        if value > Self::MAX {
            Err(IdentityError::OutOfRange {
                what: "MEID",
                value,
                bits: 56,
            })
        } else {
            Ok(Self(value))
        }
    }

    /// The 56-bit value.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The 7 octets, most significant first.
    pub fn octets(self) -> [u8; 7] {
        let b = self.0.to_be_bytes();
        [b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
    }

    /// The hex check digit of 3GPP2 S.R0048 (Annex A): the Luhn algorithm run in base 16.
    ///
    /// Going from the rightmost of the 14 digits leftwards, every other digit starting with the
    /// rightmost is doubled; a doubled value of 16 or more contributes the sum of its two base-16
    /// digits (1 + (2d - 16)). The check digit brings the total to a multiple of 16.
    /// S.R0048's own example: MEID AF 01 23 45 0A BC DE has check digit C.
    pub fn check_digit(self) -> char {
        let mut total = 0u32;
        for i in 0..14u32 {
            // Digit i counted from the right (i = 0 is the least significant).
            let d = ((self.0 >> (4 * i)) & 0xF) as u32;
            total += if i % 2 == 0 {
                let dd = 2 * d;
                dd / 16 + dd % 16
            } else {
                d
            };
        }
        let check = (16 - total % 16) % 16;
        char::from_digit(check, 16).map_or('0', |c| c.to_ascii_uppercase())
    }

    /// The 14 digits followed by the check digit (15 uppercase hex digits).
    pub fn with_check_digit(self) -> String {
        format!("{self}{}", self.check_digit())
    }

    /// The pseudo-ESN (S.R0048 / C.S0072): manufacturer code 0x80 followed by the low 24 bits of
    /// the SHA-1 digest of the MEID's 7 octets (big-endian).
    pub fn pesn(self) -> Esn {
        let digest = sha1_smol::Sha1::from(self.octets()).digest().bytes();
        let low24 =
            (u32::from(digest[17]) << 16) | (u32::from(digest[18]) << 8) | u32::from(digest[19]);
        Esn((u32::from(Esn::PSEUDO_MFR_CODE) << 24) | low24)
    }
}

impl FromStr for Meid {
    type Err = IdentityError;

    /// Parses 14 hex digits, or 15 where the last is the check digit (which must be right).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "14 hex digits (15 with the check digit)";
        let got = s.chars().count();
        match got {
            14 => Ok(Self(parse_hex("MEID", EXPECTED, s, 14)?)),
            15 => {
                check_chars("MEID", s, "a hex digit", |c| c.is_ascii_hexdigit())?;
                // All 15 characters are ASCII hex digits, so byte slicing is safe.
                let meid = Self(parse_hex("MEID", EXPECTED, &s[..14], 14)?);
                let given = s[14..]
                    .chars()
                    .next()
                    .map_or('0', |c| c.to_ascii_uppercase());
                let expected = meid.check_digit();
                if given == expected {
                    Ok(meid)
                } else {
                    Err(IdentityError::CheckDigit {
                        got: given,
                        expected,
                    })
                }
            }
            _ => Err(IdentityError::WrongLength {
                what: "MEID",
                expected: EXPECTED,
                got,
            }),
        }
    }
}

impl fmt::Display for Meid {
    /// 14 uppercase hex digits (no check digit; see [`Meid::with_check_digit`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:014X}", self.0)
    }
}

/// Declares a newtype over a validated `String` with `as_str`, `Display` and `FromStr`.
macro_rules! digit_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The digits as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = IdentityError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let check: fn(&str) -> Result<(), IdentityError> = $check;
                check(s)?;
                Ok(Self(s.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

digit_string!(
    /// Mobile Identification Number: the 10-digit number that IS-95 derives IMSI_S from.
    Min,
    |s| check_decimal("MIN", "10 decimal digits", s, 10, 10)
);

digit_string!(
    /// Mobile Directory Number: the dialable number, 1 to 15 of 0-9, `*` and `#`.
    Mdn,
    |s| {
        let got = s.chars().count();
        if !(1..=15).contains(&got) {
            return Err(IdentityError::WrongLength {
                what: "MDN",
                expected: "1 to 15 digits (0-9, *, #)",
                got,
            });
        }
        check_chars("MDN", s, "a digit, * or #", |c| c.is_ascii_digit() || c == '*' || c == '#')
    }
);

digit_string!(
    /// Mobile Country Code: 3 decimal digits.
    Mcc,
    |s| check_decimal("MCC", "3 decimal digits", s, 3, 3)
);

digit_string!(
    /// International Mobile Subscriber Identity: 6 to 15 decimal digits (MCC, MNC, MSIN).
    ///
    /// The IS-95 accessors assume the class 0 split: MCC = digits 1-3, IMSI_11_12 = digits 4-5,
    /// IMSI_S = the rest. A class 0 IMSI is 15 digits; a shorter one has its MSIN padded with
    /// leading zeros to 10 digits for IMSI_S (our reading of C.S0005 §2.3.1; confirm before
    /// relying on it for IMSIs under 15 digits).
    Imsi,
    |s| check_decimal("IMSI", "6 to 15 decimal digits", s, 6, 15)
);

impl Imsi {
    /// The Mobile Country Code: the first 3 digits.
    pub fn mcc(&self) -> Mcc {
        Mcc(self.0[..3].to_owned())
    }

    /// IMSI_11_12: digits 4 and 5 (the MNC of a 2-digit-MNC network).
    pub fn imsi_11_12(&self) -> &str {
        &self.0[3..5]
    }

    /// IMSI_S: the 10 digits after IMSI_11_12 (for a 15-digit IMSI, its last 10 digits), left
    /// padded with zeros when the IMSI is shorter than 15 digits.
    pub fn imsi_s(&self) -> String {
        format!("{:0>10}", &self.0[5..])
    }
}

/// A handset's equipment identity: an ESN or a MEID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceId {
    /// A 32-bit ESN.
    Esn(Esn),
    /// A 56-bit MEID.
    Meid(Meid),
}

impl DeviceId {
    /// The ESN a network without MEID support sees: the ESN itself, or the MEID's pseudo-ESN.
    pub fn esn_or_pesn(&self) -> Esn {
        match self {
            Self::Esn(e) => *e,
            Self::Meid(m) => m.pesn(),
        }
    }
}

impl FromStr for DeviceId {
    type Err = IdentityError;

    /// 8 hex digits parse as an ESN; 14 (or 15 with the check digit) as a MEID.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.chars().count() {
            8 => s.parse().map(Self::Esn),
            14 | 15 => s.parse().map(Self::Meid),
            got => Err(IdentityError::WrongLength {
                what: "device ID",
                expected: "8 hex digits (ESN) or 14/15 hex digits (MEID)",
                got,
            }),
        }
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Esn(e) => e.fmt(f),
            Self::Meid(m) => m.fmt(f),
        }
    }
}

impl From<Esn> for DeviceId {
    fn from(e: Esn) -> Self {
        Self::Esn(e)
    }
}

impl From<Meid> for DeviceId {
    fn from(m: Meid) -> Self {
        Self::Meid(m)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn esn_parses_either_case_and_prints_uppercase() {
        let e: Esn = "8051f1ab".parse().unwrap();
        assert_eq!(e.as_u32(), 0x8051_F1AB);
        assert_eq!(e.to_string(), "8051F1AB");
        assert!(e.is_pseudo());
        assert!(!Esn::new(0x9F00_0001).is_pseudo());
    }

    #[test]
    fn esn_errors_say_what_is_wrong() {
        let err = "1234567".parse::<Esn>().unwrap_err();
        assert_eq!(err.to_string(), "ESN must be 8 hex digits, got 7");
        let err = "1234567G".parse::<Esn>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "ESN has 'G' at position 8, expected a hex digit"
        );
    }

    #[test]
    fn meid_check_digit_matches_s_r0048_example() {
        // S.R0048 Annex A: AF 01 23 45 0A BC DE -> check digit C.
        let m: Meid = "AF0123450ABCDE".parse().unwrap();
        assert_eq!(m.check_digit(), 'C');
        assert_eq!(m.with_check_digit(), "AF0123450ABCDEC");
        // Computed independently with a base-16 Luhn in Python: 9.
        let m: Meid = "A0000000002329".parse().unwrap();
        assert_eq!(m.check_digit(), '9');
        assert_eq!("a00000000023299".parse::<Meid>().unwrap(), m);
    }

    #[test]
    fn meid_wrong_check_digit_rejected() {
        let err = "A00000000023293".parse::<Meid>().unwrap_err();
        assert_eq!(
            err,
            IdentityError::CheckDigit {
                got: '3',
                expected: '9'
            }
        );
        assert_eq!(err.to_string(), "MEID check digit is 3, expected 9");
        let err = "A000000000232".parse::<Meid>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "MEID must be 14 hex digits (15 with the check digit), got 13"
        );
    }

    #[test]
    fn pesn_from_sha1() {
        // `printf '\xa0\x00\x00\x00\x00\x23\x29' | sha1sum` = e3be267a...3551f1ab, low 24 bits 51F1AB.
        let m: Meid = "A0000000002329".parse().unwrap();
        assert_eq!(m.pesn(), Esn::new(0x8051_F1AB));
        // SHA-1 of AF 01 23 45 0A BC DE ends ...16b128.
        let m: Meid = "AF0123450ABCDE".parse().unwrap();
        assert_eq!(m.pesn(), Esn::new(0x8016_B128));
        assert!(m.pesn().is_pseudo());
    }

    #[test]
    fn meid_range() {
        assert!(Meid::new(Meid::MAX).is_ok());
        assert!(matches!(
            Meid::new(1 << 56),
            Err(IdentityError::OutOfRange { .. })
        ));
        assert_eq!(
            Meid::new(0xA0_0000_0000_2329).unwrap().octets(),
            [0xA0, 0, 0, 0, 0, 0x23, 0x29]
        );
    }

    #[test]
    fn digit_strings() {
        assert_eq!("8005551234".parse::<Min>().unwrap().as_str(), "8005551234");
        assert_eq!(
            "800555123".parse::<Min>().unwrap_err().to_string(),
            "MIN must be 10 decimal digits, got 9"
        );
        assert!("*228#".parse::<Mdn>().is_ok());
        assert_eq!(
            "555-1234".parse::<Mdn>().unwrap_err().to_string(),
            "MDN has '-' at position 4, expected a digit, * or #"
        );
        assert!("".parse::<Mdn>().is_err());
        assert!("1234567890123456".parse::<Mdn>().is_err());
        assert!("310".parse::<Mcc>().is_ok());
        assert!("31".parse::<Mcc>().is_err());
    }

    #[test]
    fn imsi_parts() {
        let i: Imsi = "310005551234567".parse().unwrap();
        assert_eq!(i.mcc().as_str(), "310");
        assert_eq!(i.imsi_11_12(), "00");
        assert_eq!(i.imsi_s(), "5551234567");
        let short: Imsi = "3100012345".parse().unwrap();
        assert_eq!(short.imsi_s(), "0000012345");
        assert_eq!(
            "31000".parse::<Imsi>().unwrap_err().to_string(),
            "IMSI must be 6 to 15 decimal digits, got 5"
        );
    }

    #[test]
    fn device_id_by_length() {
        let d: DeviceId = "1F2E3D4C".parse().unwrap();
        assert_eq!(d, DeviceId::Esn(Esn::new(0x1F2E_3D4C)));
        assert_eq!(d.esn_or_pesn(), Esn::new(0x1F2E_3D4C));
        let d: DeviceId = "A0000000002329".parse().unwrap();
        assert_eq!(d.esn_or_pesn(), Esn::new(0x8051_F1AB));
        assert_eq!(d.to_string(), "A0000000002329");
        assert!("A00000000023299".parse::<DeviceId>().is_ok());
        assert!("123".parse::<DeviceId>().is_err());
    }

    proptest! {
        #[test]
        fn meid_round_trips_with_check_digit(v in 0u64..=Meid::MAX) {
            let m = Meid::new(v).unwrap();
            prop_assert_eq!(m.to_string().parse::<Meid>().unwrap(), m);
            prop_assert_eq!(m.with_check_digit().parse::<Meid>().unwrap(), m);
        }

        #[test]
        fn esn_round_trips(v in any::<u32>()) {
            let e = Esn::new(v);
            prop_assert_eq!(e.to_string().parse::<Esn>().unwrap(), e);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<Esn>();
            let _ = s.parse::<Meid>();
            let _ = s.parse::<DeviceId>();
            let _ = s.parse::<Imsi>();
            let _ = s.parse::<Mdn>();
        }
    }
}
