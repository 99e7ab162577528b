//! Repository of customer profiles.

use std::collections::HashSet;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use otagw_codecs::identity::{DeviceId, Esn, Mdn, Meid, Min};

use super::models::{ActivationState, NewProfile, Profile};
use super::schema::profiles;
use super::StoreError;

/// How a caller names a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Row id.
    Id(i64),
    /// ESN (also matches the pseudo-ESN of a MEID device).
    Esn(Esn),
    /// MEID.
    Meid(Meid),
    /// MDN.
    Mdn(Mdn),
    /// MIN.
    Min(Min),
}

impl Lookup {
    /// Reads what an operator types: 8 hex digits are an ESN, 14 (or 15 with the check digit)
    /// a MEID, other digit strings an MDN.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if let Ok(id) = text.parse::<DeviceId>() {
            return Ok(match id {
                DeviceId::Esn(esn) => Self::Esn(esn),
                DeviceId::Meid(meid) => Self::Meid(meid),
            });
        }
        text.parse::<Mdn>().map(Self::Mdn).map_err(|_| {
            format!("{text:?} is neither an ESN (8 hex digits), a MEID (14 hex digits) nor an MDN (digits)")
        })
    }
}

impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "id {id}"),
            Self::Esn(v) => write!(f, "ESN {v}"),
            Self::Meid(v) => write!(f, "MEID {v}"),
            Self::Mdn(v) => write!(f, "MDN {v}"),
            Self::Min(v) => write!(f, "MIN {v}"),
        }
    }
}

/// Inserts one profile.
pub async fn insert(conn: &mut AsyncPgConnection, new: &NewProfile) -> Result<Profile, StoreError> {
    Ok(diesel::insert_into(profiles::table)
        .values(new)
        .returning(Profile::as_returning())
        .get_result(conn)
        .await?)
}

/// Rows per INSERT statement in [`insert_all`].
const BATCH: usize = 500;

/// Inserts every profile or none, in one transaction. `progress` is called with the number of
/// rows written so far after each batch.
pub async fn insert_all(
    conn: &mut AsyncPgConnection,
    rows: &[NewProfile],
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize, StoreError> {
    conn.transaction::<_, StoreError, _>(async |conn| {
        let mut written = 0;
        for chunk in rows.chunks(BATCH) {
            written += diesel::insert_into(profiles::table)
                .values(chunk)
                .execute(conn)
                .await?;
            progress(written);
        }
        Ok(written)
    })
    .await
}

/// Finds the profile a lookup names, preferring one that is not de-activated.
pub async fn find(conn: &mut AsyncPgConnection, lookup: &Lookup) -> Result<Profile, StoreError> {
    let mut query = profiles::table.select(Profile::as_select()).into_boxed();
    query = match lookup {
        Lookup::Id(id) => query.filter(profiles::id.eq(*id)),
        Lookup::Esn(esn) => {
            let esn = esn.to_string();
            query.filter(profiles::esn.eq(esn.clone()).or(profiles::pesn.eq(esn)))
        }
        Lookup::Meid(meid) => query.filter(profiles::meid.eq(meid.to_string())),
        Lookup::Mdn(mdn) => query.filter(profiles::mdn.eq(mdn.to_string())),
        Lookup::Min(min) => query.filter(profiles::min.eq(min.to_string())),
    };
    query
        .order((
            profiles::activation_state.eq("deactivated"),
            profiles::updated_at.desc(),
        ))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::ProfileNotFound(lookup.to_string()))
}

/// The service programming code of a profile, read only where programming needs it.
pub async fn spc(conn: &mut AsyncPgConnection, id: i64) -> Result<Option<String>, StoreError> {
    profiles::table
        .find(id)
        .select(profiles::spc)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::ProfileNotFound(format!("id {id}")))
}

/// The SPASM key of a profile, read only where an OTAPA session needs it.
pub async fn spasm_key(
    conn: &mut AsyncPgConnection,
    id: i64,
) -> Result<Option<String>, StoreError> {
    profiles::table
        .find(id)
        .select(profiles::spasm_key)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| StoreError::ProfileNotFound(format!("id {id}")))
}

/// Identities already taken by profiles that are not de-activated, as `(field, value)` pairs
/// (field is "ESN", "MEID", "MDN" or "MIN"), among the candidates given.
pub async fn taken_identities(
    conn: &mut AsyncPgConnection,
    esns: &[String],
    meids: &[String],
    mdns: &[String],
    mins: &[String],
) -> Result<Vec<(&'static str, String)>, StoreError> {
    let rows: Vec<[Option<String>; 4]> = profiles::table
        .filter(profiles::activation_state.ne("deactivated"))
        .filter(
            profiles::esn
                .eq_any(esns)
                .or(profiles::meid.eq_any(meids))
                .or(profiles::mdn.eq_any(mdns))
                .or(profiles::min.eq_any(mins)),
        )
        .select((profiles::esn, profiles::meid, profiles::mdn, profiles::min))
        .load::<(
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        )>(conn)
        .await?
        .into_iter()
        .map(|(a, b, c, d)| [a, b, c, d])
        .collect();
    let set = |values: &[String]| values.iter().cloned().collect::<HashSet<String>>();
    let candidates: [(&'static str, HashSet<String>); 4] = [
        ("ESN", set(esns)),
        ("MEID", set(meids)),
        ("MDN", set(mdns)),
        ("MIN", set(mins)),
    ];
    let mut taken = Vec::new();
    for row in rows {
        for ((field, wanted), value) in candidates.iter().zip(row) {
            if let Some(value) = value.filter(|v| wanted.contains(v)) {
                taken.push((*field, value));
            }
        }
    }
    Ok(taken)
}

/// Moves a profile to `state` if it is still at `expected_version`; returns the updated row.
pub async fn set_activation_state(
    conn: &mut AsyncPgConnection,
    id: i64,
    expected_version: i64,
    state: ActivationState,
) -> Result<Profile, StoreError> {
    let now = chrono::Utc::now();
    let activated_at = (state == ActivationState::Activated).then_some(now);
    let updated = diesel::update(
        profiles::table
            .filter(profiles::id.eq(id))
            .filter(profiles::version.eq(expected_version)),
    )
    .set((
        profiles::activation_state.eq(state.as_str()),
        profiles::activated_at.eq(activated_at),
        profiles::updated_at.eq(now),
        profiles::version.eq(profiles::version + 1),
    ))
    .returning(Profile::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    match updated {
        Some(profile) => Ok(profile),
        None => {
            // Tell an unknown profile from a stale version.
            find(conn, &Lookup::Id(id)).await?;
            Err(StoreError::StaleVersion {
                what: "profile",
                id,
                expected: expected_version,
            })
        }
    }
}

/// Number of profiles in the store.
pub async fn count(conn: &mut AsyncPgConnection) -> Result<i64, StoreError> {
    Ok(profiles::table.count().get_result(conn).await?)
}

/// Marks a profile activated with `esn` as its activated ESN, if it is still at
/// `expected_version`.
pub async fn activate(
    conn: &mut AsyncPgConnection,
    id: i64,
    expected_version: i64,
    esn: &str,
) -> Result<Profile, StoreError> {
    let profile =
        set_activation_state(conn, id, expected_version, ActivationState::Activated).await?;
    Ok(diesel::update(profiles::table.find(id))
        .set(profiles::activated_esn.eq(esn))
        .returning(Profile::as_returning())
        .get_result(conn)
        .await
        .map(|p: Profile| Profile {
            version: profile.version,
            ..p
        })?)
}

/// Records a PRL waiting to be pushed and the OTAPA call-back URL the handset is sent to, if
/// the profile is still at `expected_version`.
pub async fn set_pending_prl(
    conn: &mut AsyncPgConnection,
    id: i64,
    expected_version: i64,
    prl_id: i32,
    callback_url: &str,
) -> Result<Profile, StoreError> {
    let updated = diesel::update(
        profiles::table
            .filter(profiles::id.eq(id))
            .filter(profiles::version.eq(expected_version)),
    )
    .set((
        profiles::pending_prl_id.eq(Some(prl_id)),
        profiles::otapa_callback_url.eq(Some(callback_url)),
        profiles::updated_at.eq(chrono::Utc::now()),
        profiles::version.eq(profiles::version + 1),
    ))
    .returning(Profile::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    updated.ok_or(StoreError::StaleVersion {
        what: "profile",
        id,
        expected: expected_version,
    })
}

/// After a PRL download that failed (refused, timed out): the pending PRL ID and OTAPA
/// call-back URL are cleared and the profile keeps its PRL, so nothing shows a download pending
/// that no session is running. Only when the pending fields are still those of the push with
/// session token `token` (its call-back URL ends in `/{token}`): a newer push's are left alone.
/// Returns whether they were cleared.
pub async fn clear_pending_prl(
    conn: &mut AsyncPgConnection,
    id: i64,
    token: &str,
) -> Result<bool, StoreError> {
    let profile = find(conn, &Lookup::Id(id)).await?;
    let Some(url) = profile
        .otapa_callback_url
        .filter(|u| u.rsplit_once('/').is_some_and(|(_, t)| t == token))
    else {
        return Ok(false);
    };
    let n = diesel::update(
        profiles::table
            .filter(profiles::id.eq(id))
            .filter(profiles::otapa_callback_url.eq(&url)),
    )
    .set((
        profiles::pending_prl_id.eq(None::<i32>),
        profiles::otapa_callback_url.eq(None::<String>),
        profiles::updated_at.eq(chrono::Utc::now()),
        profiles::version.eq(profiles::version + 1),
    ))
    .execute(conn)
    .await?;
    Ok(n == 1)
}

/// After a successful PRL download: the pending PRL becomes the profile's PRL, and the pending
/// fields are cleared. Only when they are those of the push with session token `token` (its
/// call-back URL ends in `/{token}`): another push's pending PRL is not this session's, so the
/// profile is returned unchanged (and the caller is told by `Ok(None)`).
pub async fn apply_pending_prl(
    conn: &mut AsyncPgConnection,
    id: i64,
    token: &str,
) -> Result<Option<Profile>, StoreError> {
    let profile = find(conn, &Lookup::Id(id)).await?;
    let own = profile
        .otapa_callback_url
        .as_deref()
        .and_then(|u| u.rsplit_once('/'))
        .is_some_and(|(_, t)| t == token);
    let (true, Some(pending)) = (own, profile.pending_prl_id) else {
        return Ok(None);
    };
    Ok(Some(
        diesel::update(profiles::table.find(id))
            .set((
                profiles::prl_id.eq(Some(pending)),
                profiles::pending_prl_id.eq(None::<i32>),
                profiles::otapa_callback_url.eq(None::<String>),
                profiles::updated_at.eq(chrono::Utc::now()),
                profiles::version.eq(profiles::version + 1),
            ))
            .returning(Profile::as_returning())
            .get_result(conn)
            .await?,
    ))
}
