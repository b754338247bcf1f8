//! Creates or completes the people list and its meta list, idempotently.
//!
//! On an existing list only what is missing is added: absent columns are created with their
//! type and choices, and columns the store filters on are indexed. Nothing is removed or
//! retyped; the report says what was found and what was done.

use anyhow::Context;
use serde::Serialize;
use serde_json::json;

use super::columns::{self, Spec};
use super::list::{RU_READ, RU_WRITE};
use super::pacer::{Class, Pacer};
use super::DEFAULT_LIST_TITLE;
use crate::graph::{Column, GraphClient};

/// What provisioning found and did on one list.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListReport {
    /// List id.
    pub id: String,
    /// Display name.
    pub title: String,
    /// The list did not exist and was created.
    pub created: bool,
    /// Columns the store needs that were already there.
    pub columns_found: Vec<String>,
    /// Columns added.
    pub columns_added: Vec<String>,
    /// Existing columns that were indexed now.
    pub indexes_added: Vec<String>,
}

/// What provisioning found and did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionReport {
    /// Site id.
    pub site: String,
    /// The people list.
    pub list: ListReport,
    /// The meta list (meta values and the mail log).
    pub meta: ListReport,
    /// Internal names of every column of the people list after provisioning.
    #[serde(skip)]
    pub columns_present: Vec<String>,
}

fn looks_like_id(list: &str) -> bool {
    uuid::Uuid::parse_str(list).is_ok()
}

/// Ensures one list with `specs`. `title` names it when it must be created.
async fn ensure_list(
    graph: &GraphClient,
    pacer: &Pacer,
    site: &str,
    list: &str,
    specs: &[Spec],
    create: bool,
) -> anyhow::Result<(ListReport, Vec<Column>)> {
    let permit = pacer.take(graph.clock(), RU_READ, Class::Regular).await;
    let found = graph
        .get_list(site, list)
        .await
        .with_context(|| format!("reading list {list} on site {site}"));
    drop(permit);
    let found = found?;
    let mut report = ListReport::default();
    let existing = match found {
        Some(l) => l,
        None => {
            if !create || looks_like_id(list) {
                anyhow::bail!(
                    "SharePoint list {list} does not exist on site {site}; create it with \
                     `worker provision-list --site {site} --list \"<title>\"`"
                );
            }
            let defs = specs
                .iter()
                .filter(|s| s.name != columns::f::TITLE)
                .map(Spec::definition)
                .collect();
            let _permit = pacer.take(graph.clock(), RU_WRITE, Class::Regular).await;
            let l = graph
                .create_list(site, list, defs)
                .await
                .with_context(|| format!("creating list {list}"))?;
            report.created = true;
            l
        }
    };
    report.id = existing.id.clone();
    report.title = existing
        .display_name
        .clone()
        .unwrap_or_else(|| list.to_string());
    let permit = pacer.take(graph.clock(), RU_WRITE, Class::Regular).await;
    let cols = graph
        .list_columns(site, &existing.id)
        .await
        .context("reading the list's columns");
    drop(permit);
    let mut cols = cols?;
    for spec in specs {
        let current = cols
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(spec.name))
            .cloned();
        match current {
            None => {
                if !create {
                    anyhow::bail!("list {list} lacks column {}", spec.name);
                }
                if spec.legacy && !report.created {
                    tracing::warn!(
                        column = spec.name,
                        "the existing list lacked a column of the old system's schema; adding it"
                    );
                }
                let _permit = pacer.take(graph.clock(), RU_WRITE, Class::Regular).await;
                let c = graph
                    .create_column(site, &existing.id, spec.definition())
                    .await
                    .with_context(|| format!("adding column {}", spec.name))?;
                report.columns_added.push(spec.name.to_string());
                cols.push(c);
            }
            Some(c) => {
                if !report.created {
                    report.columns_found.push(spec.name.to_string());
                }
                if spec.indexed && !c.indexed {
                    let _permit = pacer.take(graph.clock(), RU_WRITE, Class::Regular).await;
                    let key = if c.id.is_empty() { &c.name } else { &c.id };
                    let updated = graph
                        .update_column(site, &existing.id, key, json!({"indexed": true}))
                        .await
                        .with_context(|| format!("indexing column {}", spec.name))?;
                    report.indexes_added.push(spec.name.to_string());
                    if let Some(slot) = cols.iter_mut().find(|x| x.name == c.name) {
                        *slot = updated;
                    }
                }
            }
        }
    }
    if report.created {
        report.columns_added = specs.iter().map(|s| s.name.to_string()).collect();
    }
    Ok((report, cols))
}

/// Provisions the people list `list` (id or title; a missing list named by title is created
/// when `create`) and its meta list on `site`.
pub async fn provision(
    graph: &GraphClient,
    pacer: &Pacer,
    site: &str,
    list: &str,
    create: bool,
) -> anyhow::Result<ProvisionReport> {
    let list = if list.trim().is_empty() {
        DEFAULT_LIST_TITLE
    } else {
        list
    };
    let (people, cols) = ensure_list(graph, pacer, site, list, columns::PEOPLE, create).await?;
    let meta_title = format!("{} Meta", people.title);
    let (meta, _) = ensure_list(
        graph,
        pacer,
        site,
        &meta_title,
        columns::meta::COLUMNS,
        true,
    )
    .await?;
    Ok(ProvisionReport {
        site: site.to_string(),
        list: people,
        meta,
        columns_present: cols.into_iter().map(|c| c.name).collect(),
    })
}
