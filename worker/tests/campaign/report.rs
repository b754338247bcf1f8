//! The admin report email reads well at scale: thousands separators, errors grouped by reason
//! with counts (not a line per person), and a link to the dashboard.

use mfa_core::passes::PassKind;

use crate::helpers::{spawn, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_groups_errors_by_reason_and_separates_thousands() {
    let env = spawn(Options::default()).await;
    let upns: Vec<String> = (0..1_234).map(|i| env.upn(&format!("p{i:04}"))).collect();
    env.upload(&upns).await;
    for (i, u) in upns.iter().take(45).enumerate() {
        let mut rec = env.record(u).await;
        rec.record_error(if i < 40 {
            "No such user in Entra ID."
        } else {
            "The account is disabled in Entra ID."
        });
        env.store.update(&rec).await.expect("write");
    }
    env.run(&[PassKind::Report]).await;
    let mail = env
        .mail_to(&env.upn("it-admins"))
        .pop()
        .expect("report email");
    let body = &mail.body;
    assert!(body.contains("0 of 1,234 people"), "{body}");
    assert!(body.contains("Errors (45)"), "{body}");
    assert!(
        body.contains("<td align=\"right\">40</td><td>No such user in Entra ID.</td>"),
        "{body}"
    );
    assert!(
        body.contains("<td align=\"right\">5</td><td>The account is disabled in Entra ID.</td>"),
        "{body}"
    );
    assert!(
        !body.contains(&upns[0]),
        "people with errors are counted, not listed"
    );
    assert!(
        body.contains("href=\"https://mfa.contoso.test/portal/\""),
        "a link to the dashboard: {body}"
    );
}
