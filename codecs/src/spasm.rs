//! SPASM (Subscriber Parameter Administration Security Mechanism): the check that an OTAPA
//! session on a protected NAM comes from the operator.
//!
//! A handset whose active NAM is SPASM-protected answers the OTAPA start with NAM_LOCK_IND set
//! and a 32-bit RAND_OTAPA challenge. Before it accepts any download in that session the OTAF
//! must send a Validation Request with the Validate SPASM block carrying AUTH_OTAPA (18 bits)
//! computed from the challenge and a secret shared with the handset; NAM_LOCK in the same block
//! says whether the NAM stays protected for later sessions.
//!
//! ## otagw's AUTH_OTAPA
//!
//! IS-683 computes AUTH_OTAPA with CAVE's Auth_Signature over the A-key-derived SSD. CAVE is
//! published only under export control (TIA's Common Cryptographic Algorithms) and is not
//! implemented here. otagw computes AUTH_OTAPA as
//!
//! ```text
//! AUTH_OTAPA = the 18 most significant bits of HMAC-SHA-1(SPASM key, RAND_OTAPA || ESN)
//! ```
//!
//! with RAND_OTAPA and ESN as 4 octets each, big-endian, and a 64-bit SPASM key per subscriber
//! (the size of an A-key). The handset simulator computes the same function, so the whole
//! exchange (challenge, signature, accept or result 13 "invalid SPASM") runs end to end; a
//! deployment with commercial handsets replaces [`auth_otapa`] with the CAVE computation (or
//! asks the AC for it). The function is the only place that would change.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::identity::Esn;

/// Largest AUTH_OTAPA (18 bits).
pub const AUTH_OTAPA_MAX: u32 = (1 << 18) - 1;

/// SHA-1 block size, in octets (HMAC pads the key to it).
const SHA1_BLOCK: usize = 64;

/// A subscriber's 64-bit SPASM key. Its `Debug` form never shows the key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SpasmKey([u8; 8]);

/// A SPASM key that is not 16 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("a SPASM key is 16 hexadecimal digits (64 bits), got {len} characters{detail}")]
pub struct SpasmKeyError {
    len: usize,
    detail: &'static str,
}

impl SpasmKey {
    /// A key with these octets.
    pub const fn new(octets: [u8; 8]) -> Self {
        Self(octets)
    }

    /// The key's octets.
    pub const fn octets(&self) -> [u8; 8] {
        self.0
    }

    /// The key as 16 upper-case hexadecimal digits (the stored form).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02X}")).collect()
    }
}

impl fmt::Debug for SpasmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpasmKey(..)")
    }
}

impl FromStr for SpasmKey {
    type Err = SpasmKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |detail| SpasmKeyError {
            len: s.chars().count(),
            detail,
        };
        if s.len() != 16 {
            return Err(bad(""));
        }
        if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(", not all hexadecimal"));
        }
        let mut octets = [0u8; 8];
        for (i, octet) in octets.iter_mut().enumerate() {
            let pair = s.get(2 * i..2 * i + 2).ok_or_else(|| bad(""))?;
            *octet = u8::from_str_radix(pair, 16).map_err(|_| bad(", not all hexadecimal"))?;
        }
        Ok(Self(octets))
    }
}

/// HMAC-SHA-1 (RFC 2104) of `message` under `key`.
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; SHA1_BLOCK];
    if key.len() > SHA1_BLOCK {
        block[..20].copy_from_slice(&sha1_smol::Sha1::from(key).digest().bytes());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|k| k ^ byte);
    let mut inner = sha1_smol::Sha1::new();
    inner.update(&pad(0x36));
    inner.update(message);
    let mut outer = sha1_smol::Sha1::new();
    outer.update(&pad(0x5C));
    outer.update(&inner.digest().bytes());
    outer.digest().bytes()
}

/// AUTH_OTAPA for the challenge `rand_otapa` sent by the handset with ESN `esn` (the
/// pseudo-ESN for a MEID handset): see the module documentation.
pub fn auth_otapa(key: &SpasmKey, rand_otapa: u32, esn: Esn) -> u32 {
    let mut message = [0u8; 8];
    message[..4].copy_from_slice(&rand_otapa.to_be_bytes());
    message[4..].copy_from_slice(&esn.as_u32().to_be_bytes());
    let mac = hmac_sha1(&key.0, &message);
    let top = u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]);
    top >> 14
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        // RFC 2202 test cases 1, 2 and 6 (a key longer than one block).
        assert_eq!(
            hex(&hmac_sha1(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
        assert_eq!(
            hex(&hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(&hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn auth_otapa_is_18_bits_and_depends_on_every_input() {
        let key: SpasmKey = "0123456789ABCDEF".parse().unwrap();
        let other: SpasmKey = "0123456789ABCDEE".parse().unwrap();
        let esn = Esn::new(0x1F2E_3D4C);
        let a = auth_otapa(&key, 0xDEAD_BEEF, esn);
        assert!(a <= AUTH_OTAPA_MAX);
        assert_eq!(a, auth_otapa(&key, 0xDEAD_BEEF, esn));
        assert_ne!(a, auth_otapa(&other, 0xDEAD_BEEF, esn));
        assert_ne!(a, auth_otapa(&key, 0xDEAD_BEEE, esn));
        assert_ne!(a, auth_otapa(&key, 0xDEAD_BEEF, Esn::new(0x1F2E_3D4D)));
        // The top 18 bits of the MAC, by hand.
        let mac = hmac_sha1(
            &key.octets(),
            &[0xDE, 0xAD, 0xBE, 0xEF, 0x1F, 0x2E, 0x3D, 0x4C],
        );
        let expected =
            (u32::from(mac[0]) << 10) | (u32::from(mac[1]) << 2) | (u32::from(mac[2]) >> 6);
        assert_eq!(a, expected);
    }

    #[test]
    fn keys_parse_print_and_hide() {
        let key: SpasmKey = "00ff10Aa20bB30cC".parse().unwrap();
        assert_eq!(key.to_hex(), "00FF10AA20BB30CC");
        assert_eq!(format!("{key:?}"), "SpasmKey(..)");
        for bad in [
            "",
            "0123",
            "0123456789ABCDEFAB",
            "0123456789ABCDEG",
            "é123456789ABCDE",
            "+0+1+2+3+4+5+6+7",
        ] {
            assert!(bad.parse::<SpasmKey>().is_err(), "{bad:?}");
        }
    }
}
