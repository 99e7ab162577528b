//! Rebuilds the crate when a migration under `sql/` is added or changed: `embed_migrations!`
//! reads that directory at compile time, and cargo does not otherwise notice a new one.

fn main() {
    println!("cargo:rerun-if-changed=sql");
}
