//! The SMSC's congestion_state (SMPP 5.0 §4.8.4.19) and how a bind paces itself on it.
//!
//! An SMPP 5.0 SMSC may put the `congestion_state` TLV (tag 0x0428, one octet 0-100) on its
//! responses: 0 idle, 1-29 low load, 30-49 medium, 50-79 high, 80-89 optimum, 90-99 nearing
//! congestion, 100 congested. A bind that runs 5.0 reads it from every response that carries it
//! (`submit_sm_resp` through rusmpp, [`reported`]; `enquire_link_resp`, `generic_nack` and
//! `unbind_resp` from the body [`super::frame`] sets aside, [`reported_in_body`]) and moves
//! between three paces ([`Pace`]), with the thresholds below (the only place they are set):
//!
//! | reported | pace | the bind |
//! |---|---|---|
//! | >= [`HALVE_AT`] (90, nearing congestion) | [`Pace::Halved`] | half its configured rate and window |
//! | [`BACK_OFF_AT`] (100, congested) | [`Pace::BackOff`] | as halved, and pauses after each such answer as after `ESME_RTHROTTLED` |
//! | below [`RECOVER_BELOW`] (80, under optimum load) | [`Pace::Full`] | its configured rate and window again |
//! | 80-89 (optimum) | a back-off eases to halved; otherwise unchanged | |
//!
//! The gap between 80 and 90 keeps a bind from flapping around one threshold. A bind that runs
//! 3.4 ignores the TLV (3.4 does not define it), and a value above 100 (outside the
//! specification) is ignored too.
//!
//! This module is pure: the session ([`super::Session`]) feeds it the TLVs it receives and
//! keeps the pace.

use rusmpp_core::tlvs::owned::{Tlv, TlvValue};

use super::SMPP_5_0;

/// Tag of the congestion_state TLV (SMPP 5.0 §4.8.4.19).
pub const CONGESTION_STATE_TAG: u16 = 0x0428;

/// At or above this congestion_state (90, "nearing congestion") a bind halves its rate and
/// window.
pub const HALVE_AT: u8 = 90;

/// At this congestion_state (100, "congested") a bind also pauses as after `ESME_RTHROTTLED`.
pub const BACK_OFF_AT: u8 = 100;

/// Below this congestion_state (80, under "optimum load") a bind is back to its configured rate
/// and window.
pub const RECOVER_BELOW: u8 = 80;

/// A bind slowed down by the SMSC's congestion goes back to its configured pace when the SMSC
/// has reported no congestion_state for this long. SMPP 5.0 makes the TLV optional: an SMSC that
/// sends it only while congested, then falls silent, would otherwise keep the bind slowed down
/// until it reconnects.
pub const FORGET_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether a congestion_state reported `silent_for` ago is forgotten ([`FORGET_AFTER`]): the
/// bind is back to [`Pace::Full`] and its gauge to 0.
pub fn forgotten(silent_for: std::time::Duration) -> bool {
    silent_for >= FORGET_AFTER
}

/// How fast a bind sends, given what the SMSC last said about its congestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pace {
    /// The configured rate and window.
    #[default]
    Full,
    /// Half the configured rate and window (at least 1 each).
    Halved,
    /// Halved, and the bind pauses after each answer that says congested, the pause growing as
    /// it does after `ESME_RTHROTTLED`.
    BackOff,
}

impl Pace {
    /// The pace after the SMSC reported `state` while the bind ran at `self`.
    pub fn after_report(self, state: u8) -> Self {
        if state >= BACK_OFF_AT {
            Self::BackOff
        } else if state >= HALVE_AT {
            Self::Halved
        } else if state < RECOVER_BELOW {
            Self::Full
        } else if self == Self::BackOff {
            // Optimum load: no longer congested, not yet recovered.
            Self::Halved
        } else {
            self
        }
    }

    /// The submit_sm per second a bind configured for `configured` sends at this pace.
    pub fn rate(self, configured: u32) -> u32 {
        match self {
            Self::Full => configured,
            Self::Halved | Self::BackOff => (configured / 2).max(1),
        }
    }

    /// The window a bind configured for `configured` uses at this pace.
    pub fn window(self, configured: usize) -> usize {
        match self {
            Self::Full => configured,
            Self::Halved | Self::BackOff => (configured / 2).max(1),
        }
    }

    /// Whether the bind pauses after an answer at this pace, as after `ESME_RTHROTTLED`.
    pub fn backs_off(self) -> bool {
        self == Self::BackOff
    }

    /// The name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Halved => "halved",
            Self::BackOff => "back-off",
        }
    }
}

/// The congestion_state among a response's TLVs, when the bind runs `version` 5.0 (or later)
/// and the value is one SMPP 5.0 defines (0-100); `None` otherwise.
pub fn reported(version: u8, tlvs: &[Tlv]) -> Option<u8> {
    if version < SMPP_5_0 {
        return None;
    }
    tlvs.iter()
        .find_map(|tlv| match tlv.value() {
            Some(TlvValue::CongestionState(state)) => Some(u8::from(*state)),
            _ => None,
        })
        .filter(|state| *state <= BACK_OFF_AT)
}

/// The congestion_state among TLVs still encoded (tag, length, value, ...), such as the body
/// of an `enquire_link_resp`; the same rules as [`reported`]. A congestion_state whose length
/// is not 1, or TLVs that run past the end, are ignored from there on.
pub fn reported_in_body(version: u8, mut body: &[u8]) -> Option<u8> {
    if version < SMPP_5_0 {
        return None;
    }
    while let [t0, t1, l0, l1, rest @ ..] = body {
        let tag = u16::from_be_bytes([*t0, *t1]);
        let length = usize::from(u16::from_be_bytes([*l0, *l1]));
        let value = rest.get(..length)?;
        if tag == CONGESTION_STATE_TAG {
            return match value {
                [state] if *state <= BACK_OFF_AT => Some(*state),
                _ => None,
            };
        }
        body = rest.get(length..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smpp::SMPP_3_4;
    use rusmpp_core::values::CongestionState;

    #[test]
    fn a_silent_smsc_is_forgotten_after_forget_after() {
        assert!(!forgotten(FORGET_AFTER / 2));
        assert!(forgotten(FORGET_AFTER));
    }

    fn congestion(state: u8) -> Tlv {
        Tlv::new(TlvValue::CongestionState(CongestionState::from(state)))
    }

    #[test]
    fn the_thresholds_are_ordered() {
        const { assert!(RECOVER_BELOW < HALVE_AT && HALVE_AT < BACK_OFF_AT) };
    }

    #[test]
    fn nearing_congestion_halves_and_congested_backs_off() {
        for pace in [Pace::Full, Pace::Halved, Pace::BackOff] {
            assert_eq!(pace.after_report(90), Pace::Halved);
            assert_eq!(pace.after_report(99), Pace::Halved);
            assert_eq!(pace.after_report(100), Pace::BackOff);
        }
    }

    #[test]
    fn below_80_recovers_and_80_to_89_holds() {
        for pace in [Pace::Full, Pace::Halved, Pace::BackOff] {
            for state in [0, 29, 30, 50, 79] {
                assert_eq!(pace.after_report(state), Pace::Full, "{pace:?} at {state}");
            }
        }
        for state in [80, 85, 89] {
            assert_eq!(Pace::Full.after_report(state), Pace::Full);
            assert_eq!(Pace::Halved.after_report(state), Pace::Halved);
            assert_eq!(Pace::BackOff.after_report(state), Pace::Halved);
        }
    }

    #[test]
    fn halved_and_back_off_halve_rate_and_window_never_to_zero() {
        assert_eq!(Pace::Full.rate(100), 100);
        assert_eq!(Pace::Full.window(10), 10);
        for pace in [Pace::Halved, Pace::BackOff] {
            assert_eq!(pace.rate(100), 50);
            assert_eq!(pace.window(10), 5);
            assert_eq!(pace.rate(1), 1);
            assert_eq!(pace.window(1), 1);
        }
        assert!(Pace::BackOff.backs_off());
        assert!(!Pace::Halved.backs_off() && !Pace::Full.backs_off());
    }

    #[test]
    fn read_on_5_0_binds_only() {
        assert_eq!(reported(SMPP_5_0, &[congestion(95)]), Some(95));
        assert_eq!(reported(SMPP_5_0, &[congestion(0)]), Some(0));
        assert_eq!(reported(SMPP_5_0, &[congestion(100)]), Some(100));
        assert_eq!(reported(SMPP_3_4, &[congestion(100)]), None);
        assert_eq!(reported(SMPP_5_0, &[]), None);
    }

    #[test]
    fn the_tag_is_rusmpps() {
        assert_eq!(
            u16::from(rusmpp_core::tlvs::TlvTag::CongestionState),
            CONGESTION_STATE_TAG
        );
    }

    #[test]
    fn read_from_an_encoded_body() {
        let state = [0x04, 0x28, 0, 1, 97];
        assert_eq!(reported_in_body(SMPP_5_0, &state), Some(97));
        assert_eq!(reported_in_body(SMPP_3_4, &state), None);
        // After another TLV (additional_status_info_text "ok").
        let body = [0x00, 0x1D, 0, 3, b'o', b'k', 0, 0x04, 0x28, 0, 1, 100];
        assert_eq!(reported_in_body(SMPP_5_0, &body), Some(100));
        assert_eq!(reported_in_body(SMPP_5_0, &[]), None);
        assert_eq!(reported_in_body(SMPP_5_0, &[0x04, 0x28, 0, 1, 101]), None);
        assert_eq!(reported_in_body(SMPP_5_0, &[0x04, 0x28, 0, 2, 90, 0]), None);
        // Truncated: no panic, nothing read.
        assert_eq!(reported_in_body(SMPP_5_0, &[0x04, 0x28, 0, 1]), None);
        assert_eq!(reported_in_body(SMPP_5_0, &[0x00, 0x1D, 0, 9, 1]), None);
        assert_eq!(reported_in_body(SMPP_5_0, &[0x04, 0x28, 0]), None);
    }

    #[test]
    fn other_tlvs_are_skipped_and_values_above_100_ignored() {
        let other = Tlv::new(TlvValue::AdditionalStatusInfoText(
            rusmpp_core::types::owned::COctetString::from_string("busy".to_string())
                .unwrap_or_default(),
        ));
        assert_eq!(
            reported(SMPP_5_0, &[other.clone(), congestion(92)]),
            Some(92)
        );
        assert_eq!(reported(SMPP_5_0, &[other]), None);
        assert_eq!(reported(SMPP_5_0, &[congestion(101)]), None);
        assert_eq!(reported(SMPP_5_0, &[congestion(255)]), None);
    }
}
