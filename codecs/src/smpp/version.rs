//! The SMPP version a bind runs (SMPP 5.0 §4.1.1.4 `interface_version`, §4.8.4.51
//! `sc_interface_version`), and what an ESME offers after a refusal.
//!
//! The ESME offers a version in its bind; the SMSC answers with the version it speaks. The bind
//! runs the lower of the two ([`negotiated_version`]); an answer without `sc_interface_version`
//! comes from an SMSC older than 3.4's TLVs and is taken as 3.4, the oldest version spoken here.
//!
//! Some 3.4 SMSCs refuse a bind offering a version they do not know. [`Offer`] keeps what the
//! next bind offers: after a refused 5.0 bind, 3.4 at once, unless the SMSC refused the
//! credentials (ESME_RINVPASWD, ESME_RINVSYSID: another version would not help); after a bind
//! that was up and ended, the configured version again.

use super::status::{ESME_RINVPASWD, ESME_RINVSYSID};

/// interface_version of SMPP 3.4.
pub const SMPP_3_4: u8 = 0x34;
/// interface_version of SMPP 5.0.
pub const SMPP_5_0: u8 = 0x50;

/// The version a bind runs: what the ESME offered, lowered to what the SMSC's bind response
/// says it speaks. No sc_interface_version means an SMSC older than 3.4's TLVs; it is taken as
/// 3.4, the oldest version spoken here.
pub fn negotiated_version(offered: u8, sc_interface_version: Option<u8>) -> u8 {
    offered
        .min(sc_interface_version.unwrap_or(SMPP_3_4))
        .max(SMPP_3_4)
}

/// The version as operators write it ("3.4", "5.0").
pub fn version_name(version: u8) -> String {
    format!("{}.{}", version >> 4, version & 0x0F)
}

/// What an ESME offers in its next bind (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    configured: u8,
    next: u8,
}

impl Offer {
    /// Offers `configured` first.
    pub fn new(configured: u8) -> Self {
        Self {
            configured,
            next: configured,
        }
    }

    /// The interface_version of the next bind.
    pub fn next(&self) -> u8 {
        self.next
    }

    /// The SMSC refused the bind with `status`. True when the next bind, at once, offers 3.4:
    /// the refused bind offered more than 3.4 and the credentials were not the problem.
    pub fn refused(&mut self, status: u32) -> bool {
        let credentials = [ESME_RINVPASWD, ESME_RINVSYSID];
        if self.next > SMPP_3_4 && !credentials.contains(&status) {
            self.next = SMPP_3_4;
            return true;
        }
        false
    }

    /// A bind that was up has ended: the next offers the configured version again (the SMSC may
    /// have been upgraded, or its refusal was passing).
    pub fn bind_ended(&mut self) {
        self.next = self.configured;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smpp::status::ESME_RBINDFAIL;

    #[test]
    fn the_bind_runs_the_lower_version_and_never_below_3_4() {
        assert_eq!(negotiated_version(SMPP_5_0, Some(SMPP_5_0)), SMPP_5_0);
        assert_eq!(negotiated_version(SMPP_5_0, Some(SMPP_3_4)), SMPP_3_4);
        assert_eq!(negotiated_version(SMPP_5_0, None), SMPP_3_4);
        assert_eq!(negotiated_version(SMPP_3_4, Some(SMPP_5_0)), SMPP_3_4);
        assert_eq!(negotiated_version(SMPP_5_0, Some(0x33)), SMPP_3_4);
        assert_eq!(version_name(SMPP_5_0), "5.0");
        assert_eq!(version_name(SMPP_3_4), "3.4");
    }

    #[test]
    fn a_refused_5_0_bind_is_offered_again_as_3_4_unless_the_credentials_were_wrong() {
        let mut offer = Offer::new(SMPP_5_0);
        assert_eq!(offer.next(), SMPP_5_0);
        assert!(offer.refused(ESME_RBINDFAIL), "bind again at once");
        assert_eq!(offer.next(), SMPP_3_4);
        assert!(!offer.refused(ESME_RBINDFAIL), "3.4 refused: nothing lower");
        assert_eq!(offer.next(), SMPP_3_4);
        offer.bind_ended();
        assert_eq!(offer.next(), SMPP_5_0, "each new bind tries 5.0 first");

        for status in [ESME_RINVPASWD, ESME_RINVSYSID] {
            let mut offer = Offer::new(SMPP_5_0);
            assert!(!offer.refused(status));
            assert_eq!(offer.next(), SMPP_5_0, "a credentials refusal keeps 5.0");
        }
        let mut offer = Offer::new(SMPP_3_4);
        assert!(!offer.refused(ESME_RBINDFAIL));
        assert_eq!(offer.next(), SMPP_3_4);
    }
}
