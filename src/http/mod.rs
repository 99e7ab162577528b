//! The gateway's HTTP edges: the admin server ([`admin`]: health, metrics, the flows'
//! triggers) and the IOTA server ([`iota`]: the handsets' bootstrap, call-back and session
//! URLs).

pub mod admin;
pub mod iota;
pub mod problem;

pub use admin::{router, AdminState};
