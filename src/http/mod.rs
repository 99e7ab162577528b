//! The gateway's HTTP edges: the admin server ([`admin`]: health, metrics, and the REST API
//! [`api`] behind its [`guard`]) and the IOTA server ([`iota`]: the handsets' bootstrap,
//! call-back and session URLs).

pub(crate) mod admin;
pub(crate) mod api;
pub(crate) mod guard;
pub(crate) mod iota;
pub(crate) mod problem;
pub(crate) mod server;
pub(crate) mod state;

pub(crate) use admin::router;
pub(crate) use state::AdminState;
