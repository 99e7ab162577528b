//! Audit detail records: one per OTA session.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::AuditRecord;
use super::schema::audit_records;
use super::StoreError;

/// Writes a record; returns its id.
pub async fn insert(conn: &mut AsyncPgConnection, record: &AuditRecord) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(audit_records::table)
        .values(record)
        .returning(audit_records::id)
        .get_result(conn)
        .await?)
}

/// The records of one session, oldest first.
pub async fn for_session(
    conn: &mut AsyncPgConnection,
    session_id: i64,
) -> Result<Vec<AuditRecord>, StoreError> {
    Ok(audit_records::table
        .filter(audit_records::session_id.eq(session_id))
        .order(audit_records::id)
        .select(AuditRecord::as_select())
        .load(conn)
        .await?)
}
