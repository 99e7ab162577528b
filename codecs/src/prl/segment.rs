//! Cutting a PRL into SSPR Download segments and putting it back together.
//!
//! An SSPR Download Request carries one segment: LAST_SEGMENT 1, SEGMENT_OFFSET 16 (octet offset
//! of the segment in the PRL), SEGMENT_SIZE 8 and SEGMENT_DATA, all inside a parameter block whose
//! BLOCK_LEN is one octet. The four octets of RESERVED/LAST_SEGMENT, SEGMENT_OFFSET and
//! SEGMENT_SIZE leave at most [`MAX_SEGMENT_SIZE`] = 251 data octets per segment. Over SS7 the
//! whole message must also fit the SCCP payload; [`segment_size_for`] works out the largest
//! segment a budget allows.

use thiserror::Error;

/// Most data octets one SSPR Download segment can carry (255 - 4 octets of segment header).
pub const MAX_SEGMENT_SIZE: u8 = 251;

/// Largest PRL (or any octet string) that SEGMENT_OFFSET can address.
pub const MAX_TOTAL: usize = 65535;

/// Why a PRL could not be segmented or reassembled.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SegmentError {
    /// A segment size outside 1..=251.
    #[error("segment size {size} is outside 1..=251")]
    BadSegmentSize {
        /// The size asked for.
        size: usize,
    },
    /// Nothing to segment.
    #[error("cannot segment an empty PRL")]
    Empty,
    /// More octets than SEGMENT_OFFSET can address.
    #[error("{total} octets is more than the 65535 SEGMENT_OFFSET can address")]
    TooLong {
        /// Octets given (or received so far).
        total: usize,
    },
    /// A segment that does not start where the previous one ended.
    #[error("segment offset {got} does not follow on from the {expected} octets received")]
    OffsetMismatch {
        /// The offset expected (octets received so far).
        expected: u16,
        /// The offset given.
        got: u16,
    },
    /// A segment with no data.
    #[error("empty segment at offset {offset}")]
    EmptySegment {
        /// Its offset.
        offset: u16,
    },
    /// A segment with more data than one SSPR Download Request can carry.
    #[error("segment at offset {offset} carries {size} octets, more than 251")]
    OversizedSegment {
        /// Its offset.
        offset: u16,
        /// Its size.
        size: usize,
    },
    /// A segment after the one marked last.
    #[error("segment at offset {offset} arrived after the last segment")]
    AfterLast {
        /// Its offset.
        offset: u16,
    },
    /// [`Reassembler::finish`] before the last segment arrived.
    #[error("the last segment has not arrived ({received} octets so far)")]
    Incomplete {
        /// Octets received so far.
        received: usize,
    },
    /// A budget too small for any data after the overhead.
    #[error(
        "a budget of {budget} octets leaves no room for data after {overhead} octets of overhead"
    )]
    NoRoom {
        /// The budget.
        budget: usize,
        /// The overhead.
        overhead: usize,
    },
}

/// One SSPR Download segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    /// SEGMENT_OFFSET: where `data` starts in the PRL, in octets.
    pub offset: u16,
    /// LAST_SEGMENT.
    pub last: bool,
    /// SEGMENT_DATA (SEGMENT_SIZE octets).
    pub data: Vec<u8>,
}

/// Cuts `prl` into segments of `max_size` octets (the last may be shorter).
pub fn segment(prl: &[u8], max_size: usize) -> Result<Vec<Segment>, SegmentError> {
    if max_size == 0 || max_size > usize::from(MAX_SEGMENT_SIZE) {
        return Err(SegmentError::BadSegmentSize { size: max_size });
    }
    if prl.is_empty() {
        return Err(SegmentError::Empty);
    }
    if prl.len() > MAX_TOTAL {
        return Err(SegmentError::TooLong { total: prl.len() });
    }
    let count = prl.len().div_ceil(max_size);
    Ok(prl
        .chunks(max_size)
        .enumerate()
        .map(|(i, chunk)| Segment {
            // i * max_size < prl.len() <= 65535.
            offset: (i * max_size) as u16,
            last: i + 1 == count,
            data: chunk.to_vec(),
        })
        .collect())
}

/// The largest segment size that fits `budget_octets` once `overhead` octets (message header,
/// TCAP/MAP wrapping, ...) are taken off, capped at [`MAX_SEGMENT_SIZE`].
pub fn segment_size_for(budget_octets: usize, overhead: usize) -> Result<u8, SegmentError> {
    match budget_octets.checked_sub(overhead) {
        Some(room) if room > 0 => Ok(room.min(usize::from(MAX_SEGMENT_SIZE)) as u8),
        _ => Err(SegmentError::NoRoom {
            budget: budget_octets,
            overhead,
        }),
    }
}

/// Puts segments back together, accepting them only in order.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    data: Vec<u8>,
    done: bool,
}

impl Reassembler {
    /// A reassembler expecting the segment at offset 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Octets received so far (and the offset the next segment must have).
    pub fn received(&self) -> usize {
        self.data.len()
    }

    /// Whether the last segment has arrived.
    pub fn is_complete(&self) -> bool {
        self.done
    }

    /// Takes the next segment. On error nothing changes.
    pub fn push(&mut self, offset: u16, last: bool, data: &[u8]) -> Result<(), SegmentError> {
        if self.done {
            return Err(SegmentError::AfterLast { offset });
        }
        let expected = self.data.len();
        if usize::from(offset) != expected {
            return Err(SegmentError::OffsetMismatch {
                // Never more than 65535: longer totals are refused below.
                expected: expected as u16,
                got: offset,
            });
        }
        if data.is_empty() {
            return Err(SegmentError::EmptySegment { offset });
        }
        if data.len() > usize::from(MAX_SEGMENT_SIZE) {
            return Err(SegmentError::OversizedSegment {
                offset,
                size: data.len(),
            });
        }
        let total = expected + data.len();
        if total > MAX_TOTAL {
            return Err(SegmentError::TooLong { total });
        }
        self.data.extend_from_slice(data);
        self.done = last;
        Ok(())
    }

    /// Takes a [`Segment`].
    pub fn push_segment(&mut self, segment: &Segment) -> Result<(), SegmentError> {
        self.push(segment.offset, segment.last, &segment.data)
    }

    /// The reassembled octets, once the last segment has arrived.
    pub fn finish(self) -> Result<Vec<u8>, SegmentError> {
        if self.done {
            Ok(self.data)
        } else {
            Err(SegmentError::Incomplete {
                received: self.data.len(),
            })
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn splits_on_size() {
        let prl: Vec<u8> = (0..=255u8).cycle().take(600).collect();
        let segs = segment(&prl, 251).unwrap();
        let shape: Vec<_> = segs
            .iter()
            .map(|s| (s.offset, s.last, s.data.len()))
            .collect();
        assert_eq!(
            shape,
            vec![(0, false, 251), (251, false, 251), (502, true, 98)]
        );
    }

    #[test]
    fn bad_arguments() {
        assert_eq!(
            segment(&[1], 0),
            Err(SegmentError::BadSegmentSize { size: 0 })
        );
        assert_eq!(
            segment(&[1], 252),
            Err(SegmentError::BadSegmentSize { size: 252 })
        );
        assert_eq!(segment(&[], 10), Err(SegmentError::Empty));
        assert_eq!(
            segment(&vec![0; 65536], 251),
            Err(SegmentError::TooLong { total: 65536 })
        );
        assert_eq!(segment_size_for(255, 30), Ok(225));
        assert_eq!(segment_size_for(1000, 30), Ok(251));
        assert_eq!(
            segment_size_for(30, 30),
            Err(SegmentError::NoRoom {
                budget: 30,
                overhead: 30
            })
        );
    }

    #[test]
    fn reassembler_rejections() {
        let mut r = Reassembler::new();
        assert_eq!(
            r.push(5, false, &[1]),
            Err(SegmentError::OffsetMismatch {
                expected: 0,
                got: 5
            })
        );
        assert_eq!(
            r.push(0, false, &[]),
            Err(SegmentError::EmptySegment { offset: 0 })
        );
        assert_eq!(
            r.push(0, false, &[0; 252]),
            Err(SegmentError::OversizedSegment {
                offset: 0,
                size: 252
            })
        );
        r.push(0, false, &[1, 2]).unwrap();
        assert_eq!(
            r.push(1, true, &[3]),
            Err(SegmentError::OffsetMismatch {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            r.clone().finish(),
            Err(SegmentError::Incomplete { received: 2 })
        );
        r.push(2, true, &[3]).unwrap();
        assert!(r.is_complete());
        assert_eq!(
            r.push(3, false, &[4]),
            Err(SegmentError::AfterLast { offset: 3 })
        );
        assert_eq!(r.finish().unwrap(), vec![1, 2, 3]);
    }

    #[test]
    fn reassembler_caps_total() {
        let mut r = Reassembler::new();
        let chunk = [0u8; 251];
        let mut offset = 0usize;
        while offset + 251 <= MAX_TOTAL {
            r.push(offset as u16, false, &chunk).unwrap();
            offset += 251;
        }
        // 65535 = 261 * 251 + 24: 24 more fit, 25 do not.
        assert_eq!(
            r.push(offset as u16, true, &[0; 25]),
            Err(SegmentError::TooLong { total: 65536 })
        );
        r.push(offset as u16, true, &[0; 24]).unwrap();
        assert_eq!(r.finish().unwrap().len(), MAX_TOTAL);
    }

    proptest! {
        #[test]
        fn segment_then_reassemble(data in proptest::collection::vec(any::<u8>(), 1..3000), size in 1usize..=251) {
            let segs = segment(&data, size).unwrap();
            prop_assert!(segs.iter().all(|s| !s.data.is_empty() && s.data.len() <= size));
            prop_assert_eq!(segs.iter().filter(|s| s.last).count(), 1);
            let mut r = Reassembler::new();
            for s in &segs {
                r.push_segment(s).unwrap();
            }
            prop_assert_eq!(r.finish().unwrap(), data);
        }
    }
}
