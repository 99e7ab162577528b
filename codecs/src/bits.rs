//! MSB-first bit packing.
//!
//! IS-683 and the PRL pack fields of arbitrary width with no alignment, most significant bit
//! first. [`BitReader`] reads such fields from a byte slice and returns [`BitError`] rather than
//! panicking when the input is short; [`BitWriter`] appends fields and pads the last octet with
//! zero bits.

use thiserror::Error;

/// A bit-level decoding failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BitError {
    /// The input ended before a field could be read.
    #[error("input ends at bit {available}: reading {field} needs {needed} more bit(s)")]
    ShortInput {
        /// The field being read.
        field: &'static str,
        /// Bits the field needed beyond what was left.
        needed: usize,
        /// Total bits in the input.
        available: usize,
    },
}

/// Reads fields MSB first from a byte slice.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    /// Position in bits from the start of `data`.
    pos: usize,
}

impl<'a> BitReader<'a> {
    /// A reader positioned at the first bit of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bits consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bits left to read.
    pub fn remaining(&self) -> usize {
        self.data.len() * 8 - self.pos
    }

    /// Whether the reader is on an octet boundary.
    pub fn is_aligned(&self) -> bool {
        self.pos % 8 == 0
    }

    fn need(&self, field: &'static str, bits: usize) -> Result<(), BitError> {
        let remaining = self.remaining();
        if bits > remaining {
            Err(BitError::ShortInput {
                field,
                needed: bits - remaining,
                available: self.data.len() * 8,
            })
        } else {
            Ok(())
        }
    }

    /// Reads an unsigned field of `width` bits (0..=64).
    pub fn read(&mut self, field: &'static str, width: u32) -> Result<u64, BitError> {
        debug_assert!(width <= 64, "field wider than 64 bits");
        let width = width.min(64) as usize;
        self.need(field, width)?;
        let mut value: u64 = 0;
        let mut left = width;
        while left > 0 {
            let byte = self.data[self.pos / 8];
            let bit_in_byte = self.pos % 8;
            let take = (8 - bit_in_byte).min(left);
            let shift = 8 - bit_in_byte - take;
            let mask = ((1u16 << take) - 1) as u8;
            let chunk = (byte >> shift) & mask;
            value = (value << take) | u64::from(chunk);
            self.pos += take;
            left -= take;
        }
        Ok(value)
    }

    /// Reads a field of at most 8 bits.
    pub fn u8(&mut self, field: &'static str, width: u32) -> Result<u8, BitError> {
        Ok(self.read(field, width.min(8))? as u8)
    }

    /// Reads a field of at most 16 bits.
    pub fn u16(&mut self, field: &'static str, width: u32) -> Result<u16, BitError> {
        Ok(self.read(field, width.min(16))? as u16)
    }

    /// Reads a field of at most 32 bits.
    pub fn u32(&mut self, field: &'static str, width: u32) -> Result<u32, BitError> {
        Ok(self.read(field, width.min(32))? as u32)
    }

    /// Reads a one-bit flag.
    pub fn flag(&mut self, field: &'static str) -> Result<bool, BitError> {
        Ok(self.read(field, 1)? == 1)
    }

    /// Reads `len` whole octets (which need not be octet-aligned in the input).
    pub fn bytes(&mut self, field: &'static str, len: usize) -> Result<Vec<u8>, BitError> {
        self.need(field, len.saturating_mul(8))?;
        if self.is_aligned() {
            let start = self.pos / 8;
            self.pos += len * 8;
            return Ok(self.data[start..start + len].to_vec());
        }
        (0..len).map(|_| self.u8(field, 8)).collect()
    }

    /// Skips `width` bits (reserved or pad bits).
    pub fn skip(&mut self, field: &'static str, width: usize) -> Result<(), BitError> {
        self.need(field, width)?;
        self.pos += width;
        Ok(())
    }

    /// Skips to the next octet boundary (pad bits).
    pub fn align(&mut self) {
        let rem = self.pos % 8;
        if rem != 0 {
            self.pos += 8 - rem;
        }
    }
}

/// Appends fields MSB first.
#[derive(Debug, Clone, Default)]
pub struct BitWriter {
    data: Vec<u8>,
    /// Bits used in the last octet of `data` (0 means aligned).
    used: usize,
}

impl BitWriter {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bits written so far.
    pub fn bit_len(&self) -> usize {
        if self.used == 0 {
            self.data.len() * 8
        } else {
            (self.data.len() - 1) * 8 + self.used
        }
    }

    /// Appends the low `width` bits of `value` (0..=64). Higher bits of `value` are ignored:
    /// callers validate ranges before encoding.
    pub fn write(&mut self, value: u64, width: u32) {
        debug_assert!(width <= 64, "field wider than 64 bits");
        let width = width.min(64) as usize;
        let mut left = width;
        while left > 0 {
            if self.used == 0 {
                self.data.push(0);
            }
            let free = 8 - self.used;
            let take = free.min(left);
            let chunk = ((value >> (left - take)) & ((1u64 << take) - 1)) as u8;
            let last = self.data.len() - 1;
            self.data[last] |= chunk << (free - take);
            self.used = (self.used + take) % 8;
            left -= take;
        }
    }

    /// Appends a one-bit flag.
    pub fn flag(&mut self, value: bool) {
        self.write(u64::from(value), 1);
    }

    /// Appends whole octets.
    pub fn bytes(&mut self, bytes: &[u8]) {
        if self.used == 0 {
            self.data.extend_from_slice(bytes);
        } else {
            for &b in bytes {
                self.write(u64::from(b), 8);
            }
        }
    }

    /// Pads with zero bits to the next octet boundary.
    pub fn align(&mut self) {
        self.used = 0;
    }

    /// The octets written, the last one padded with zero bits.
    pub fn finish(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_across_octet_boundaries() {
        let mut r = BitReader::new(&[0b1010_1100, 0b0101_0000]);
        assert_eq!(r.read("a", 3).unwrap(), 0b101);
        assert_eq!(r.read("b", 7).unwrap(), 0b011_0001);
        assert_eq!(r.remaining(), 6);
        assert!(matches!(
            r.read("c", 7),
            Err(BitError::ShortInput { needed: 1, .. })
        ));
    }

    #[test]
    fn writer_pads_with_zeros() {
        let mut w = BitWriter::new();
        w.write(0b101, 3);
        w.write(0x3ff, 10);
        assert_eq!(w.bit_len(), 13);
        assert_eq!(w.finish(), vec![0b1011_1111, 0b1111_1000]);
    }

    proptest! {
        #[test]
        fn write_then_read(fields in proptest::collection::vec((any::<u64>(), 1u32..=64), 0..20)) {
            let mut w = BitWriter::new();
            for (v, n) in &fields { w.write(*v, *n); }
            let bytes = w.finish();
            let mut r = BitReader::new(&bytes);
            for (v, n) in &fields {
                let mask = if *n == 64 { u64::MAX } else { (1u64 << n) - 1 };
                prop_assert_eq!(r.read("f", *n).unwrap(), v & mask);
            }
            prop_assert!(r.remaining() < 8);
        }

        #[test]
        fn reading_never_panics(data in proptest::collection::vec(any::<u8>(), 0..8), widths in proptest::collection::vec(0u32..=64, 0..10)) {
            let mut r = BitReader::new(&data);
            for n in widths { let _ = r.read("f", n); }
        }
    }
}
