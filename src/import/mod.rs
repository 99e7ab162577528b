//! Bulk data paths into the customer-profile store: legacy profiles from CSV and binary PRLs.

pub mod prl;
pub mod profiles;
