//! The window: requests sent and not yet answered, correlated by sequence number (SMPP 3.4
//! §2.6 "windowing"), their response deadlines, and the sequence numbers themselves.
//!
//! Sequence numbers run 0x00000001..=0x7FFFFFFF and wrap to 1 (SMPP 3.4 §3.2); one still in the
//! window is skipped, so a response is never taken for another request's. A request whose
//! deadline passes leaves the window; its sequence number is remembered for a while (the last
//! [`REMEMBER_TIMED_OUT`]), so a response that comes after all is known as late rather than as
//! a stranger.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// The highest sequence number (SMPP 3.4 §3.2).
pub const MAX_SEQUENCE_NUMBER: u32 = 0x7FFF_FFFF;

/// How many timed-out sequence numbers are remembered to recognise late responses.
pub const REMEMBER_TIMED_OUT: usize = 1024;

/// What the window knows of a request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlight {
    /// The application's id for it.
    pub id: u64,
    /// When it was sent.
    pub sent_at: Instant,
}

/// Requests in flight (see the module documentation).
#[derive(Debug, Clone)]
pub struct Window {
    next_seq: u32,
    in_flight: HashMap<u32, InFlight>,
    /// (deadline, sequence number) in the order sent: with one response timeout for all, the
    /// front has the earliest deadline. Entries whose request was answered are skipped lazily.
    deadlines: VecDeque<(Instant, u32)>,
    timed_out: VecDeque<u32>,
}

impl Default for Window {
    fn default() -> Self {
        Self::new()
    }
}

impl Window {
    /// An empty window whose first sequence number is 1.
    pub fn new() -> Self {
        Self {
            next_seq: 1,
            in_flight: HashMap::new(),
            deadlines: VecDeque::new(),
            timed_out: VecDeque::new(),
        }
    }

    /// Starts numbering at `seq` (taken into 1..=0x7FFFFFFF).
    pub fn starting_at(seq: u32) -> Self {
        Self {
            next_seq: seq.clamp(1, MAX_SEQUENCE_NUMBER),
            ..Self::new()
        }
    }

    /// A fresh sequence number for a request, skipping those in flight.
    pub fn next_sequence_number(&mut self) -> u32 {
        loop {
            let s = self.next_seq;
            self.next_seq = if s >= MAX_SEQUENCE_NUMBER { 1 } else { s + 1 };
            if !self.in_flight.contains_key(&s) {
                return s;
            }
        }
    }

    /// Requests in flight.
    pub fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.in_flight.is_empty()
    }

    /// Records request `id`, sent at `now` with sequence number `seq`; its answer is due by
    /// `deadline` (None: no deadline).
    pub fn insert(&mut self, seq: u32, id: u64, now: Instant, deadline: Option<Instant>) {
        self.in_flight.insert(seq, InFlight { id, sent_at: now });
        if let Some(deadline) = deadline {
            self.deadlines.push_back((deadline, seq));
        }
    }

    /// Takes the request answered by a response with `seq` off the window.
    pub fn answer(&mut self, seq: u32) -> Option<InFlight> {
        self.in_flight.remove(&seq)
    }

    /// Whether `seq` timed out recently (a response to it is late); forgets it.
    pub fn was_timed_out(&mut self, seq: u32) -> bool {
        match self.timed_out.iter().position(|s| *s == seq) {
            Some(i) => {
                self.timed_out.remove(i);
                true
            }
            None => false,
        }
    }

    /// The earliest deadline of a request in flight.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some((deadline, seq)) = self.deadlines.front() {
            if self.in_flight.contains_key(seq) {
                return Some(*deadline);
            }
            self.deadlines.pop_front();
        }
        None
    }

    /// Takes off the next request whose deadline is at or before `now`, remembering its
    /// sequence number as timed out.
    pub fn pop_expired(&mut self, now: Instant) -> Option<(u32, InFlight)> {
        while let Some(&(deadline, seq)) = self.deadlines.front() {
            if deadline > now && self.in_flight.contains_key(&seq) {
                return None;
            }
            self.deadlines.pop_front();
            if let Some(f) = self.in_flight.remove(&seq) {
                if self.timed_out.len() >= REMEMBER_TIMED_OUT {
                    self.timed_out.pop_front();
                }
                self.timed_out.push_back(seq);
                return Some((seq, f));
            }
        }
        None
    }

    /// Empties the window (the link is gone): every request still in flight, oldest first.
    pub fn drain(&mut self) -> Vec<(u32, InFlight)> {
        self.deadlines.clear();
        let mut all: Vec<(u32, InFlight)> = self.in_flight.drain().collect();
        all.sort_by_key(|(seq, f)| (f.sent_at, *seq));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sequence_numbers_wrap_to_1_and_skip_those_in_flight() {
        let t0 = Instant::now();
        let mut w = Window::starting_at(MAX_SEQUENCE_NUMBER - 1);
        assert_eq!(w.next_sequence_number(), MAX_SEQUENCE_NUMBER - 1);
        assert_eq!(w.next_sequence_number(), MAX_SEQUENCE_NUMBER);
        assert_eq!(w.next_sequence_number(), 1);
        w.insert(2, 7, t0, None);
        assert_eq!(w.next_sequence_number(), 3, "2 is still in flight");
        assert_eq!(Window::starting_at(0).next_sequence_number(), 1);
    }

    #[test]
    fn deadlines_expire_in_order_and_answered_requests_do_not() {
        let t0 = Instant::now();
        let d = Duration::from_secs(10);
        let mut w = Window::new();
        w.insert(1, 100, t0, Some(t0 + d));
        w.insert(
            2,
            200,
            t0 + Duration::from_secs(1),
            Some(t0 + d + Duration::from_secs(1)),
        );
        w.insert(
            3,
            300,
            t0 + Duration::from_secs(2),
            Some(t0 + d + Duration::from_secs(2)),
        );
        assert_eq!(w.next_deadline(), Some(t0 + d));
        assert_eq!(w.answer(1).map(|f| f.id), Some(100));
        assert_eq!(w.next_deadline(), Some(t0 + d + Duration::from_secs(1)));
        assert_eq!(w.pop_expired(t0 + d), None);
        let late = t0 + d + Duration::from_secs(1);
        assert_eq!(w.pop_expired(late).map(|(s, f)| (s, f.id)), Some((2, 200)));
        assert_eq!(w.pop_expired(late), None);
        assert_eq!(w.len(), 1);
        assert!(w.was_timed_out(2));
        assert!(!w.was_timed_out(2), "counted once");
        assert!(!w.was_timed_out(1), "1 was answered, not timed out");
        let left = w.drain();
        assert_eq!(left.len(), 1);
        assert!(w.is_empty());
        assert_eq!(w.next_deadline(), None);
    }

    #[test]
    fn the_timed_out_memory_is_bounded() {
        let t0 = Instant::now();
        let mut w = Window::new();
        for seq in 1..=(REMEMBER_TIMED_OUT as u32 + 10) {
            w.insert(seq, u64::from(seq), t0, Some(t0));
        }
        while w.pop_expired(t0).is_some() {}
        assert!(!w.was_timed_out(1), "the oldest are forgotten");
        assert!(w.was_timed_out(REMEMBER_TIMED_OUT as u32 + 10));
    }
}
