//! The campaign on the SharePoint list store: the same journey as the SQLite campaign, with the
//! simulator refusing non-indexed filters and enforcing `If-Match`.

use crate::helpers::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_campaign_on_the_sharepoint_list_store() {
    crate::whole_campaign(Options {
        sharepoint: true,
        ..Options::default()
    })
    .await;
}
