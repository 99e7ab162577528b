//! Simulated network elements for otagw's end-to-end tests and demos.
//!
//! Each element speaks the real protocol over real sockets so that the gateway under test cannot
//! tell it from the real thing. Each has a pure model (no I/O, unit-tested on its own) and a thin
//! network shell around it.
//!
//! | module | element |
//! |---|---|
//! | [`handset`] | a CDMA handset provisioned over IOTA (IS-683 OTASP/OTAPA over HTTP) |
//! | [`ivr`] | an IVR / OTAP tool: SMPP client of the gateway's OSPP handler, OSPP requests and replies |
//! | [`smsc`] | an SMSC: SMPP 3.4 server for the gateway's ESME, WAP pushes and texts decoded and delivered to attached handsets, delivery receipts, fault knobs |
//! | [`ss7`] | an SS7 network for IS-725-A: STP (M3UA over TCP), MSC holding handsets in OTASP calls and delivering WAP pushes (IS-637 teleservice 4100), HLR |

#![warn(unreachable_pub)]

pub mod handset;
pub mod ivr;
pub mod smsc;
pub mod ss7;

/// The network elements this crate simulates, as named on the `otagw-sim` command line.
pub const ELEMENTS: &[&str] = &["handset", "ss7"];
