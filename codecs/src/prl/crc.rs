//! PR_LIST_CRC: the CRC-16 that closes every PRL (C.S0016 §3.5.5.1).
//!
//! Parameters (the catalogued CRC-16/GENIBUS): polynomial 0x1021, initial value 0xFFFF, bits
//! processed most significant first, no reflection, final XOR 0xFFFF. It covers every octet of the
//! PRL except the two CRC octets themselves (pad bits included) and is stored big-endian.

/// The generator polynomial x^16 + x^12 + x^5 + 1 without its x^16 term.
const POLY: u16 = 0x1021;

/// CRC of each possible leading octet, for byte-at-a-time processing.
const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ POLY
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

/// PR_LIST_CRC over `data` (pass the PRL without its last two octets).
pub fn pr_list_crc(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        let idx = usize::from((crc >> 8) as u8 ^ b);
        crc = (crc << 8) ^ TABLE[idx];
    }
    crc ^ 0xFFFF
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit-at-a-time reference, written straight from the parameters.
    fn bitwise(data: &[u8]) -> u16 {
        let mut crc: u16 = 0xFFFF;
        for &b in data {
            for k in (0..8).rev() {
                let top = (crc >> 15) & 1;
                let bit = u16::from((b >> k) & 1);
                crc <<= 1;
                if top ^ bit == 1 {
                    crc ^= POLY;
                }
            }
        }
        !crc
    }

    #[test]
    fn check_value() {
        assert_eq!(pr_list_crc(b"123456789"), 0xD64E);
        assert_eq!(bitwise(b"123456789"), 0xD64E);
    }

    #[test]
    fn empty_input() {
        assert_eq!(pr_list_crc(&[]), 0x0000);
    }

    proptest! {
        #[test]
        fn table_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(pr_list_crc(&data), bitwise(&data));
        }
    }
}
