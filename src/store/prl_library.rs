//! Repository of the PRL (SSPR) library.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::models::PrlEntry;
use super::schema::prl_library;
use super::StoreError;

/// Adds a PRL; an existing entry under the same id is an error unless `replace` is set.
pub async fn insert(
    conn: &mut AsyncPgConnection,
    entry: &PrlEntry,
    replace: bool,
) -> Result<(), StoreError> {
    let insert = diesel::insert_into(prl_library::table).values(entry);
    let written = if replace {
        insert
            .on_conflict(prl_library::prl_id)
            .do_update()
            .set((
                prl_library::pr_list_id.eq(entry.pr_list_id),
                prl_library::sspr_p_rev.eq(entry.sspr_p_rev),
                prl_library::pr_list_crc.eq(entry.pr_list_crc),
                prl_library::pr_list_size.eq(entry.pr_list_size),
                prl_library::description.eq(&entry.description),
                prl_library::data.eq(&entry.data),
            ))
            .execute(conn)
            .await?
    } else {
        insert.on_conflict_do_nothing().execute(conn).await?
    };
    if written == 0 {
        return Err(StoreError::DuplicatePrl(entry.prl_id));
    }
    Ok(())
}

/// Reads one PRL.
pub async fn get(conn: &mut AsyncPgConnection, prl_id: i32) -> Result<PrlEntry, StoreError> {
    prl_library::table
        .find(prl_id)
        .select(PrlEntry::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(StoreError::PrlNotFound(prl_id))
}

/// The ids of every PRL in the library, ascending.
pub async fn ids(conn: &mut AsyncPgConnection) -> Result<Vec<i32>, StoreError> {
    Ok(prl_library::table
        .select(prl_library::prl_id)
        .order(prl_library::prl_id)
        .load(conn)
        .await?)
}

/// The PRL `prl_id` and, if the library holds it, the same list (same PR_LIST_ID) in the other
/// format, so a handset that refuses one format (result 35) can be sent the other.
pub async fn formats_of(
    conn: &mut AsyncPgConnection,
    prl_id: i32,
) -> Result<Vec<PrlEntry>, StoreError> {
    let first = get(conn, prl_id).await?;
    let classic = first.sspr_p_rev < 3;
    let other: Option<PrlEntry> = prl_library::table
        .filter(prl_library::pr_list_id.eq(first.pr_list_id))
        .filter(prl_library::prl_id.ne(prl_id))
        .filter(prl_library::sspr_p_rev.ge(3).eq(classic))
        .order(prl_library::prl_id)
        .select(PrlEntry::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(std::iter::once(first).chain(other).collect())
}
