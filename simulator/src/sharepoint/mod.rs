//! SharePoint sites and generic lists: typed columns, items with `"{GUID},N"` eTags, a
//! `BTreeMap` index per indexed column (so filters on 50,000+ items do not scan), and a change
//! log for `items/delta`. The list itself lives in `list`, index keys in `index`.

mod index;
mod list;

pub use index::Key;
pub use list::{coerce, Change, Column, ColumnKind, Item, List};

use chrono::{DateTime, Utc};

/// A site with its lists.
#[derive(Debug, Clone)]
pub struct Site {
    /// `host,{site guid},{web guid}`.
    pub id: String,
    /// URL name (`/sites/{name}`).
    pub name: String,
    /// Host name, e.g. `contoso.sharepoint.com`.
    pub host: String,
    /// Lists.
    pub lists: Vec<List>,
    /// Created.
    pub created: DateTime<Utc>,
}

impl Site {
    /// The site's own properties, without its lists (cloning those would copy every item).
    pub fn without_lists(&self) -> Site {
        Site {
            id: self.id.clone(),
            name: self.name.clone(),
            host: self.host.clone(),
            lists: Vec::new(),
            created: self.created,
        }
    }

    /// `https://{host}/sites/{name}`.
    pub fn web_url(&self) -> String {
        format!("https://{}/sites/{}", self.host, self.name)
    }

    /// A list by id, display name or URL name.
    pub fn list_mut(&mut self, key: &str) -> Option<&mut List> {
        self.lists.iter_mut().find(|l| {
            l.id.eq_ignore_ascii_case(key)
                || l.display_name.eq_ignore_ascii_case(key)
                || l.name.eq_ignore_ascii_case(key)
        })
    }
}

/// All sites of the tenant.
#[derive(Debug, Default)]
pub struct SharePointState {
    /// Sites.
    pub sites: Vec<Site>,
}

impl SharePointState {
    /// A site by id, `host:/sites/name` path, or `root`.
    pub fn site_mut(&mut self, key: &str) -> Option<&mut Site> {
        let key = key.to_ascii_lowercase();
        self.sites.iter_mut().find(|s| {
            s.id.to_ascii_lowercase() == key
                || format!("{}:/sites/{}", s.host, s.name).to_ascii_lowercase() == key
                || key
                    .split(',')
                    .nth(1)
                    .is_some_and(|g| s.id.to_ascii_lowercase().contains(g))
                || (key == "root" && s.name == "root")
        })
    }

    /// Creates a site.
    pub fn add_site(&mut self, host: &str, name: &str, now: DateTime<Utc>) -> Site {
        let site = Site {
            id: format!("{host},{},{}", uuid::Uuid::new_v4(), uuid::Uuid::new_v4()),
            name: name.to_string(),
            host: host.to_string(),
            lists: Vec::new(),
            created: now,
        };
        self.sites.push(site.clone());
        site
    }
}
