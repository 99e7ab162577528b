//! How fast a bind may send its requests: a token bucket (the configured rate) and the pause
//! after an answer asking it to slow down (`ESME_RTHROTTLED`, `ESME_RMSGQFUL`, or a congested
//! SMSC, [`super::congestion`]).
//!
//! Time is an argument everywhere: nothing here reads a clock.

use std::time::{Duration, Instant};

/// The shortest pause after an answer asking to slow down.
pub const MIN_THROTTLE_PAUSE: Duration = Duration::from_millis(20);

/// The longest pause after ESME_RTHROTTLED / ESME_RMSGQFUL (the pause starts at
/// [`MIN_THROTTLE_PAUSE`] and doubles while the SMSC keeps refusing).
pub const MAX_THROTTLE_PAUSE: Duration = Duration::from_secs(1);

/// Token bucket: `rate` tokens a second, a burst of at most a tenth of that (at least 1).
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl TokenBucket {
    /// A full bucket for `rate` requests a second (0 is taken as 1), at `now`.
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate.max(1));
        let burst = (rate / 10.0).max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.at = self.at.max(now);
    }

    /// When the next token is there (`now` if there is one).
    pub fn ready_at(&mut self, now: Instant) -> Instant {
        self.refill(now);
        if self.tokens >= 1.0 {
            now
        } else {
            now + Duration::from_secs_f64((1.0 - self.tokens) / self.rate)
        }
    }

    /// Takes a token (the bucket may go below empty: the next one comes that much later).
    pub fn take(&mut self, now: Instant) {
        self.refill(now);
        self.tokens -= 1.0;
    }

    /// Runs at `rate` from now on (the tokens gathered so far are kept, up to the new burst).
    pub fn set_rate(&mut self, rate: u32, now: Instant) {
        self.refill(now);
        let fresh = Self::new(rate, now);
        self.rate = fresh.rate;
        self.burst = fresh.burst;
        self.tokens = self.tokens.min(fresh.burst);
    }
}

/// The pause after answers asking to slow down: it starts at [`MIN_THROTTLE_PAUSE`] and doubles
/// up to [`MAX_THROTTLE_PAUSE`] while the answers keep asking; answers to requests already in
/// the window when a pause began do not lengthen it again; any other answer ends the growth
/// ([`Throttle::reset`]).
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pause: Duration,
    until: Option<Instant>,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new()
    }
}

impl Throttle {
    /// No pause.
    pub const fn new() -> Self {
        Self {
            pause: Duration::ZERO,
            until: None,
        }
    }

    /// An answer at `now` asked to slow down.
    pub fn slow_down(&mut self, now: Instant) {
        if self.until.is_none_or(|until| now >= until) {
            self.pause = (self.pause * 2).clamp(MIN_THROTTLE_PAUSE, MAX_THROTTLE_PAUSE);
            self.until = Some(now + self.pause);
        }
    }

    /// An answer that did not ask to slow down: the next pause starts short again (a pause
    /// under way runs to its end).
    pub fn reset(&mut self) {
        self.pause = Duration::ZERO;
    }

    /// The length of the last pause (zero after a reset).
    pub fn pause(&self) -> Duration {
        self.pause
    }

    /// Until when sending waits (None: not paused since the last pause ended, or never).
    pub fn paused_until(&self) -> Option<Instant> {
        self.until
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_paces() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10, t0);
        assert_eq!(b.ready_at(t0), t0);
        b.take(t0);
        let next = b.ready_at(t0);
        assert!(next > t0 && next <= t0 + Duration::from_millis(101));
        assert_eq!(b.ready_at(next), next, "a token by then");
    }

    #[test]
    fn the_bucket_follows_a_new_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(1000, t0);
        for _ in 0..100 {
            b.take(t0);
        }
        b.set_rate(10, t0);
        let next = b.ready_at(t0);
        assert!(
            next >= t0 + Duration::from_millis(99) && next <= t0 + Duration::from_millis(101),
            "one token at 10/s takes 100 ms: {:?}",
            next - t0
        );
        // A full bucket keeps at most the new burst.
        let mut full = TokenBucket::new(1000, t0);
        full.set_rate(20, t0);
        full.take(t0);
        full.take(t0);
        assert!(full.ready_at(t0) > t0, "burst of 2 at 20/s");
    }

    #[test]
    fn an_earlier_instant_does_not_move_the_bucket_back() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(50);
        let mut b = TokenBucket::new(10, t0);
        b.take(t1);
        b.take(t0);
        assert!(b.ready_at(t1) > t1);
    }

    #[test]
    fn slowing_down_doubles_the_pause_once_per_pause() {
        let t0 = Instant::now();
        let mut t = Throttle::new();
        assert_eq!(t.paused_until(), None);
        t.slow_down(t0);
        assert_eq!(t.pause(), MIN_THROTTLE_PAUSE);
        assert_eq!(t.paused_until(), Some(t0 + MIN_THROTTLE_PAUSE));
        // Answers inside the pause do not lengthen it.
        t.slow_down(t0 + Duration::from_millis(5));
        assert_eq!(t.pause(), MIN_THROTTLE_PAUSE);
        let mut at = t0 + MIN_THROTTLE_PAUSE;
        for _ in 0..10 {
            t.slow_down(at);
            at = t.paused_until().unwrap_or(at);
        }
        assert_eq!(t.pause(), MAX_THROTTLE_PAUSE);
        t.reset();
        assert_eq!(t.pause(), Duration::ZERO);
        t.slow_down(at);
        assert_eq!(t.pause(), MIN_THROTTLE_PAUSE, "short again after a reset");
    }
}
