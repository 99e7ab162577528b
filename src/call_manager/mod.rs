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
