//! SharePoint sites and lists (placeholder; filled in by the SharePoint step).

/// All sites.
#[derive(Debug, Default)]
pub struct SharePointState {}
