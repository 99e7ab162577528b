//! The call manager: turns the OSPP driver's plan into IS-683 content for one subscriber. It
//! checks the profile a device names, builds the NAM blocks from the customer profile and takes
//! the PRL from the SSPR library ([`programme`]), and chooses the bearer; on the IOTA bearer the
//! session token is the call reference.

pub mod programme;

use diesel_async::AsyncPgConnection;
use otagw_codecs::identity::DeviceId;
use thiserror::Error;

pub use programme::ProgrammeError;

use crate::ospp_driver::plan::Programme;
use crate::store::models::{ActivationState, Profile};
use crate::store::profiles::{self, Lookup};
use crate::store::sessions::Bearer;
use crate::store::{prl_library, StoreError};

/// Why a device's profile cannot be activated.
#[derive(Debug, Error)]
pub enum OpenError {
    /// No profile for the device.
    #[error("no profile for {0}")]
    UnknownDevice(String),
    /// The profile is already activated (patent: "an error is returned in the GET Response").
    #[error("{0} is already activated")]
    AlreadyActivated(String),
    /// The profile is de-activated.
    #[error("{0} is de-activated")]
    Deactivated(String),
    /// The profile cannot be turned into a programme.
    #[error(transparent)]
    Programme(#[from] ProgrammeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The profile a device names, checked for a first activation, with its programme (SSPR
/// Download segments of at most `segment_size` octets).
pub async fn profile_for_activation(
    conn: &mut AsyncPgConnection,
    device: &DeviceId,
    segment_size: u8,
) -> Result<(Profile, Programme), OpenError> {
    let lookup = match device {
        DeviceId::Esn(esn) => Lookup::Esn(*esn),
        DeviceId::Meid(meid) => Lookup::Meid(*meid),
    };
    let profile = match profiles::find(conn, &lookup).await {
        Ok(p) => p,
        Err(StoreError::ProfileNotFound(_)) => {
            return Err(OpenError::UnknownDevice(lookup.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    match profile.activation_state()? {
        ActivationState::Activated => return Err(OpenError::AlreadyActivated(lookup.to_string())),
        ActivationState::Deactivated => return Err(OpenError::Deactivated(lookup.to_string())),
        ActivationState::PendingActivation => {}
    }
    let programme = programme_for(conn, &profile, segment_size).await?;
    Ok((profile, programme))
}

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
