//! The call manager: turns the OSPP driver's plan into IS-683 content for one subscriber. It
//! builds the NAM blocks from the customer profile and takes the PRL from the SSPR library
//! ([`programme`]); on the IOTA bearer the session token is the call reference.

pub mod programme;

use diesel_async::AsyncPgConnection;

pub use programme::ProgrammeError;

use crate::ospp_driver::plan::Programme;
use crate::store::models::Profile;
use crate::store::{prl_library, profiles, StoreError};

/// Reads what the profile's programme needs (its SPC, its PRL in every format the library
/// holds) and builds it.
pub async fn programme_for(
    conn: &mut AsyncPgConnection,
    profile: &Profile,
    segment_size: u8,
) -> Result<Programme, ProgrammeError> {
    let store = |e: StoreError| ProgrammeError::BadValue {
        profile: profile.id,
        field: "store",
        reason: e.to_string(),
    };
    let spc = profiles::spc(conn, profile.id).await.map_err(store)?;
    let prls = match profile.prl_id {
        Some(id) => prl_library::formats_of(conn, id).await.map_err(store)?,
        None => Vec::new(),
    };
    programme::build(profile, spc, &prls, segment_size)
}

/// The bearer a session runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bearer {
    /// IS-683 over HTTP.
    Iota,
    /// IS-683 in IS-725-A over SS7.
    Ss7,
}

/// The bearer for a handset on a call through its MSC: IOTA when the profile says the device
/// speaks it, unless configuration forces SS7 for everyone.
pub fn choose_bearer(profile: &Profile, force_ss7: bool) -> Bearer {
    let iota = profile.capabilities().map(|c| c.iota).unwrap_or(false);
    if iota && !force_ss7 {
        Bearer::Iota
    } else {
        Bearer::Ss7
    }
}
