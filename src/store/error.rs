//! Typed errors of the customer-profile store.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use thiserror::Error;

/// What can go wrong in the store. Callers match on the variants; none of them is a panic.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another active profile already has this identity.
    #[error("a profile with {field} {value} already exists")]
    Duplicate {
        /// ESN, MEID, MDN or MIN.
        field: &'static str,
        /// The value in conflict (empty when the database did not say).
        value: String,
    },
    /// No profile matches.
    #[error("no profile with {0}")]
    ProfileNotFound(String),
    /// The PRL library has no such PRL.
    #[error("PRL {0} is not in the PRL library")]
    PrlNotFound(i32),
    /// The PRL library already has a PRL under this id.
    #[error("PRL {0} is already in the PRL library (use --replace to overwrite it)")]
    DuplicatePrl(i32),
    /// No session with this id or token.
    #[error("no OTA session {0}")]
    SessionNotFound(String),
    /// The row changed since it was read (optimistic concurrency).
    #[error("{what} {id} was changed by someone else (expected version {expected})")]
    StaleVersion {
        /// Kind of row.
        what: &'static str,
        /// Its id.
        id: i64,
        /// The version the caller had read.
        expected: i64,
    },
    /// A value could not be stored or read back (bad JSON, out-of-range number).
    #[error("invalid stored value for {field}: {reason}")]
    InvalidValue {
        /// Column or field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The database could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// Migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(DieselError),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        if let DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = &err {
            let field = match info.constraint_name() {
                Some("profiles_esn_active_key") => Some("ESN"),
                Some("profiles_meid_active_key") => Some("MEID"),
                Some("profiles_mdn_active_key") => Some("MDN"),
                Some("profiles_min_active_key") => Some("MIN"),
                _ => None,
            };
            if let Some(field) = field {
                // Postgres puts the value in the detail: "Key (esn)=(12345678) already exists."
                let value = info
                    .details()
                    .and_then(|d| d.split(")=(").nth(1))
                    .and_then(|d| d.split(')').next())
                    .unwrap_or_default()
                    .to_string();
                return StoreError::Duplicate { field, value };
            }
        }
        StoreError::Database(err)
    }
}
