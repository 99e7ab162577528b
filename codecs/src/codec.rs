//! One way for a wire structure to read and write itself: a [`Reader`] over a byte slice and the
//! [`Codec`] trait, in the manner of rustls' `msgs/codec.rs`.
//!
//! A type that implements [`Codec`] reads itself from the front of a [`Reader`] (leaving the
//! reader just after it) and appends its encoding to a `Vec<u8>`. Composite structures read and
//! write their parts through the parts' own `Codec` impls, so a top-level `decode` is a dispatch
//! on a header and every message, parameter, package or component owns its own layout. The
//! M3UA messages and parameters ([`crate::m3ua`]) and the TCAP packages and components
//! ([`crate::tcap`]) are written this way.
//!
//! The reader never panics: every `take` checks the octets left and returns `None` when there
//! are too few, and each codec turns that into its own typed error (which names what was being
//! read). Encoding may fail too (a value too long for its length field, a field out of range),
//! so [`Codec::encode`] returns a `Result`: a wire format refuses what it cannot carry rather
//! than truncating it.

/// A cursor over a byte slice: reads move it forward, nothing is copied.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    cursor: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, cursor: 0 }
    }

    /// Every octet not yet read, consuming them.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.buf.get(self.cursor..).unwrap_or_default();
        self.cursor = self.buf.len();
        rest
    }

    /// The next `n` octets, consumed; `None` (and nothing consumed) when fewer are left.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.cursor.checked_add(n)?;
        let out = self.buf.get(self.cursor..end)?;
        self.cursor = end;
        Some(out)
    }

    /// The next `N` octets as an array, consumed; `None` when fewer are left.
    pub fn take_array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|s| s.try_into().ok())
    }

    /// The next octet.
    pub fn u8(&mut self) -> Option<u8> {
        self.take_array::<1>().map(|[b]| b)
    }

    /// The next two octets, big-endian.
    pub fn u16(&mut self) -> Option<u16> {
        self.take_array().map(u16::from_be_bytes)
    }

    /// The next four octets, big-endian.
    pub fn u32(&mut self) -> Option<u32> {
        self.take_array().map(u32::from_be_bytes)
    }

    /// A reader over the next `n` octets, which are consumed from this one.
    pub fn sub(&mut self, n: usize) -> Option<Reader<'a>> {
        self.take(n).map(Reader::new)
    }

    /// The next `n` octets without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.buf.get(self.cursor..self.cursor.checked_add(n)?)
    }

    /// The octets not yet read, without consuming them.
    pub fn remaining(&self) -> &'a [u8] {
        self.buf.get(self.cursor..).unwrap_or_default()
    }

    /// How many octets are left.
    pub fn left(&self) -> usize {
        self.buf.len().saturating_sub(self.cursor)
    }

    /// Whether any octet is left.
    pub fn any_left(&self) -> bool {
        self.left() > 0
    }

    /// How many octets have been read.
    pub fn used(&self) -> usize {
        self.cursor
    }
}

/// A wire structure that reads itself from a [`Reader`] and writes itself to a buffer.
pub trait Codec: Sized {
    /// What goes wrong reading or writing it.
    type Error;

    /// Reads one value from the front of `r`, leaving `r` just after it.
    fn read(r: &mut Reader<'_>) -> Result<Self, Self::Error>;

    /// Appends the value's encoding to `out`. On error `out` may hold a partial encoding.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error>;

    /// The value's encoding in a new buffer.
    fn get_encoding(&self) -> Result<Vec<u8>, Self::Error> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn reads_move_forward_and_stop_at_the_end() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(r.u8(), Some(1));
        assert_eq!(r.u16(), Some(0x0203));
        assert_eq!(r.peek(2), Some(&[4, 5][..]));
        assert_eq!(r.u32(), Some(0x0405_0607));
        assert_eq!(r.used(), 7);
        assert_eq!(r.left(), 2);
        assert_eq!(r.u32(), None, "too short: nothing consumed");
        assert_eq!(r.left(), 2);
        let mut sub = r.sub(1).unwrap();
        assert_eq!(sub.rest(), [8]);
        assert!(!sub.any_left());
        assert_eq!(r.remaining(), [9]);
        assert_eq!(r.rest(), [9]);
        assert_eq!(r.take(0), Some(&[][..]));
        assert_eq!(r.take(1), None);
        assert_eq!(r.take(usize::MAX), None);
        assert_eq!(r.peek(usize::MAX), None);
    }

    /// A toy length-prefixed string, to show the shape.
    #[derive(Debug, PartialEq)]
    struct Short(Vec<u8>);

    impl Codec for Short {
        type Error = &'static str;
        fn read(r: &mut Reader<'_>) -> Result<Self, Self::Error> {
            let n = r.u8().ok_or("no length")?;
            Ok(Self(r.take(usize::from(n)).ok_or("truncated")?.to_vec()))
        }
        fn encode(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
            out.push(u8::try_from(self.0.len()).map_err(|_| "too long")?);
            out.extend_from_slice(&self.0);
            Ok(())
        }
    }

    #[test]
    fn a_codec_reads_what_it_wrote() {
        let v = Short(b"abc".to_vec());
        let bytes = v.get_encoding().unwrap();
        assert_eq!(bytes, [3, b'a', b'b', b'c']);
        let mut r = Reader::new(&bytes);
        assert_eq!(Short::read(&mut r).unwrap(), v);
        assert!(!r.any_left());
        assert_eq!(Short::read(&mut Reader::new(&[5, 1])), Err("truncated"));
        assert_eq!(Short(vec![0; 300]).get_encoding(), Err("too long"));
    }
}
