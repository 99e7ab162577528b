//! Simulated network elements for otagw's end-to-end tests and demos.
//!
//! Each element speaks the real protocol over real sockets so that the gateway under test cannot
//! tell it from the real thing. Today this crate holds the shared scaffolding only; the handset,
//! MSC/HLR/STP, SMSC and IVR simulators arrive with the flows that need them.

/// The network elements this crate simulates, as named on the `otagw-sim` command line.
pub const ELEMENTS: &[&str] = &[];
