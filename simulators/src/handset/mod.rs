//! The handset simulator: a CDMA handset that is provisioned over the air.
//!
//! | module | what |
//! |---|---|
//! | [`model`] | the handset itself, pure: NAM and PRL storage, the programming lock, IS-683 answers, IS-683-level faults |
//! | [`iota`] | its IOTA client: one session over HTTP/1.1 (docs/iota.md), network-level faults |
//! | [`push`] | what reaches it by SMS ([`push::Delivery`]: a decoded WAP push or a text) and the URL a push names |
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use otagw_sim::handset::{run_session, Handset, HandsetConfig, NetFaults};
//!
//! let mut handset = Handset::new(HandsetConfig::new("1A2B3C4D".parse()?))?;
//! let outcome = run_session(
//!     "http://127.0.0.1:8181/iota/bootstrap",
//!     &mut handset,
//!     NetFaults::default(),
//! )
//! .await?;
//! assert!(outcome.is_rebooted());
//! println!("committed PRL: {:?}", handset.committed_prl().map(<[u8]>::len));
//! # Ok(())
//! # }
//! ```

pub mod iota;
pub mod model;
pub mod push;

pub use iota::{run_session, IotaClientError, NetFaults, SessionOutcome, TracedMessage};
pub use model::{Faults, Handset, HandsetConfig, HandsetConfigError};
