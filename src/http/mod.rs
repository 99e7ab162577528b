//! The gateway's HTTP edges: the admin server ([`admin`]: health, metrics, the flows'
//! triggers) and the IOTA server ([`iota`]: the handsets' bootstrap, call-back and session
//! URLs).

pub(crate) mod admin;
pub(crate) mod iota;
pub(crate) mod problem;
pub(crate) mod server;

pub(crate) use admin::{router, AdminState};
