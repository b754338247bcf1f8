//! The store contract suite on the SQLite backend and on the SharePoint list backend (against
//! the tenant simulator), plus what is particular to each.

use std::sync::Arc;

use mfa_core::store::sqlite::SqliteStore;
use mfa_core::store::SharedStore;
use tempfile::TempDir;

async fn sqlite() -> (SharedStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("store.db"))
        .await
        .expect("open store");
    (Arc::new(store), dir)
}

mfa_core::store_contract_tests!(sqlite());
mfa_core::store_contract_tests!(sqlite(); bulk_upsert_100k);

mod sharepoint;
mod sqlite_specific;
