//! What kind of refusal an error is, whatever edge reports it.
//!
//! A flow's error says what went wrong in its own words (its variants) and, through
//! [`Refusal`], what kind of refusal that is and its short code. The edges turn that into their
//! own answer without reading the error's text: the admin API into an HTTP status and an
//! RFC 9457 problem (`crate::http::problem`), the OSPP handler into a `REJECTED cause=...`
//! reply, the campaign worker into "skip this target" or "roll back and retry".

/// The kinds of refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// The request itself is malformed.
    BadRequest,
    /// What it names does not exist (an unknown device, TRN, PRL, campaign).
    NotFound,
    /// What it names is in a state that does not allow it (already activated, finished).
    Conflict,
    /// Well-formed, but nothing can be done with it (a campaign with no subscriber).
    Unprocessable,
    /// The feature it needs is not enabled (SS7 off).
    Unavailable,
    /// A network element the gateway needed failed (the MSC, the HLR).
    Upstream,
    /// The gateway's own failure (the database, data it cannot use): logged, not the caller's
    /// fault.
    Internal,
}

/// An error that knows what kind of refusal it is.
pub trait Refusal: std::fmt::Display {
    /// Its kind.
    fn kind(&self) -> RefusalKind;
    /// Its short code, one word with hyphens (`unknown-device`), the same on every edge.
    fn code(&self) -> &'static str;
}
