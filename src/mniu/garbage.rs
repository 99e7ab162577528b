//! What the SS7 side does with garbage from a peer (an M3UA message, SCCP message or TCAP package
//! that does not decode): every one is counted ([`names::SS7_UNDECODABLE`], by layer), and
//! logged at WARN at most [`BURST`] times per [`WINDOW`] and layer; the first line after a quiet
//! spell says how many were not logged. A peer sending a flood of garbage costs a counter
//! increment each, not a log line each.
//!
//! The limiter is a pure core ([`RateLimit`]: `allow(now)`) under a thin shell that logs.

use std::fmt::Display;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::telemetry::names;

/// How long a logging window lasts.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);

/// Lines logged per window and layer.
pub(crate) const BURST: u32 = 3;

/// The limiter's verdict on one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Log it; `suppressed` events were not logged since the last line.
    Log {
        /// Events not logged since the last logged one.
        suppressed: u64,
    },
    /// Count it only.
    Suppress,
}

/// At most `burst` events logged per `window`; the rest counted.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit {
    window: Duration,
    burst: u32,
    started: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl RateLimit {
    /// A limiter letting `burst` events through per `window`.
    pub(crate) fn new(window: Duration, burst: u32) -> Self {
        Self {
            window,
            burst,
            started: None,
            logged: 0,
            suppressed: 0,
        }
    }

    /// Whether the event at `now` is logged.
    pub(crate) fn allow(&mut self, now: Instant) -> Verdict {
        let expired = self
            .started
            .is_none_or(|s| now.saturating_duration_since(s) >= self.window);
        if expired {
            self.started = Some(now);
            self.logged = 0;
        }
        if self.logged < self.burst {
            self.logged += 1;
            let suppressed = std::mem::take(&mut self.suppressed);
            Verdict::Log { suppressed }
        } else {
            self.suppressed += 1;
            Verdict::Suppress
        }
    }
}

/// The SS7 layers garbage is told apart by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// An M3UA message that does not decode (the association is dropped and set up again).
    M3ua,
    /// An SCCP message in M3UA DATA that does not decode.
    Sccp,
    /// A TCAP package in an SCCP message that does not decode.
    Tcap,
}

impl Layer {
    /// The metric label.
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::M3ua => "m3ua",
            Self::Sccp => "sccp",
            Self::Tcap => "tcap",
        }
    }
}

/// Counts and rate-limits the logging of garbage, one limiter per layer. Shared by the ASPs and
/// the TCAP layer of one gateway.
#[derive(Debug)]
pub(crate) struct Garbage {
    limits: Mutex<[RateLimit; 3]>,
}

impl Default for Garbage {
    fn default() -> Self {
        Self {
            limits: Mutex::new(std::array::from_fn(|_| RateLimit::new(WINDOW, BURST))),
        }
    }
}

impl Garbage {
    /// Garbage at `layer` from `peer` (e.g. an association name or an SS7 endpoint): counted,
    /// and logged unless the layer's limit for this window is spent. Returns whether it logged.
    pub(crate) fn note(&self, layer: Layer, peer: &dyn Display, error: &dyn Display) -> bool {
        metrics::counter!(names::SS7_UNDECODABLE, "layer" => layer.label()).increment(1);
        let verdict = {
            let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
            limits[layer as usize].allow(Instant::now())
        };
        match verdict {
            Verdict::Log { suppressed: 0 } => {
                tracing::warn!(layer = layer.label(), %peer, %error, "undecodable SS7 message dropped");
                true
            }
            Verdict::Log { suppressed } => {
                tracing::warn!(
                    layer = layer.label(),
                    %peer,
                    %error,
                    not_logged = suppressed,
                    "undecodable SS7 message dropped (more were dropped without a log line: see {})",
                    names::SS7_UNDECODABLE
                );
                true
            }
            Verdict::Suppress => false,
        }
    }
}

/// The gateway-wide garbage handler.
pub(crate) fn global() -> &'static Garbage {
    static GARBAGE: std::sync::OnceLock<Garbage> = std::sync::OnceLock::new();
    GARBAGE.get_or_init(Garbage::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_then_a_count() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(Duration::from_secs(10), 3);
        for _ in 0..3 {
            assert_eq!(r.allow(t0), Verdict::Log { suppressed: 0 });
        }
        for i in 1..=100u64 {
            assert_eq!(r.allow(t0 + Duration::from_millis(i)), Verdict::Suppress);
        }
        // The next window: the first line says how many went unlogged.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(r.allow(t1), Verdict::Log { suppressed: 100 });
        assert_eq!(r.allow(t1), Verdict::Log { suppressed: 0 });
    }

    #[test]
    fn a_flood_logs_a_bounded_number_of_lines() {
        let g = Garbage::default();
        let logged = (0..10_000)
            .filter(|_| g.note(Layer::M3ua, &"stp1", &"bad version"))
            .count();
        // 10,000 messages within one window (the test takes well under 10 s).
        assert!(logged <= BURST as usize * 2, "{logged} lines");
        assert!(logged >= 1);
        // Layers are limited apart.
        assert!(g.note(Layer::Tcap, &"1-1-2/8", &"bad tag"));
    }
}
