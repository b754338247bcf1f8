//! Reading the repository: the root, Rust sources, Bicep app settings and documented defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The repository root (this crate lives in `tests/deploy`).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// A file under the root, as text; panics with the path when it cannot be read.
pub fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Files under `dir` (relative to the root) whose name ends with `ext`, recursively.
pub fn files_with_ext(dir: &str, ext: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, ext, out);
            } else if path.to_string_lossy().ends_with(ext) {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&repo_root().join(dir), ext, &mut out);
    out.sort();
    out
}

/// Product source text of the given crates' `src/` trees, without test code: files named
/// `tests.rs`, anything under a `tests/` folder, and inline `#[cfg(test)] mod x { … }` blocks
/// (written last in a file by convention) are left out, so test fixtures never count as reads.
pub fn product_sources(src_dirs: &[&str]) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for dir in src_dirs {
        for path in files_with_ext(dir, ".rs") {
            let rel = path.strip_prefix(repo_root()).unwrap_or(&path);
            let p = format!("/{}", rel.to_string_lossy().replace('\\', "/"));
            if p.ends_with("/tests.rs") || p.contains("/tests/") {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap_or_default();
            out.push((path, strip_inline_test_module(&text).to_string()));
        }
    }
    out
}

/// `text` up to an inline `#[cfg(test)]` module (a `mod x;` declaration is kept).
fn strip_inline_test_module(text: &str) -> &str {
    let mut from = 0;
    while let Some(i) = text[from..].find("#[cfg(test)]") {
        let at = from + i;
        let rest = text[at + "#[cfg(test)]".len()..].trim_start();
        if let Some(after_mod) = rest.strip_prefix("mod ") {
            let decl_end = after_mod.find([';', '{']).unwrap_or(after_mod.len());
            if after_mod[decl_end..].starts_with('{') {
                return &text[..at];
            }
        }
        from = at + 1;
    }
    text
}

/// Environment variable names with `prefix` that appear as whole string literals (`"MFA_X"`).
pub fn env_literals(text: &str, prefix: &str) -> BTreeSet<String> {
    let needle = format!("\"{prefix}");
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(&needle) {
        let start = from + i + 1;
        let name: String = text[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if text[start + name.len()..].starts_with('"') && name.len() > prefix.len() {
            out.insert(name.clone());
        }
        from = start + name.len().max(1);
    }
    out
}

/// Every `MFA_*` variable the handler, worker and core read.
pub fn mfa_vars_read_by_code() -> BTreeSet<String> {
    product_sources(&["core/src", "handler/src", "worker/src"])
        .iter()
        .flat_map(|(_, text)| env_literals(text, "MFA_"))
        .collect()
}

/// Whether `name` appears in `text` as a backticked identifier (`` `NAME` ``).
pub fn mentions_backticked(text: &str, name: &str) -> bool {
    text.contains(&format!("`{name}`"))
}

/// All `.bicep` files under `infra/`, concatenated with their paths.
pub fn bicep_sources() -> Vec<(PathBuf, String)> {
    files_with_ext("infra", ".bicep")
        .into_iter()
        .map(|p| {
            let t = fs::read_to_string(&p).unwrap_or_default();
            (p, t)
        })
        .collect()
}

/// App settings in the Bicep: object keys named like environment variables (`KEY: value`),
/// mapped to the value expression, from every `.bicep` file. Comments are ignored.
pub fn bicep_app_settings() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, text) in bicep_sources() {
        for line in text.lines() {
            let line = line.split("//").next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim();
            let looks_like_env = !key.is_empty()
                && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if looks_like_env && key.contains('_') {
                out.insert(key.to_string(), value.trim().to_string());
            }
        }
    }
    out
}

/// `param <name> <type> = <default>` declarations of `infra/main.bicep`: name → default text
/// (`None` when the parameter has no default and the deployer must supply it).
pub fn bicep_params() -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for line in read("infra/main.bicep").lines() {
        let Some(rest) = line.trim().strip_prefix("param ") else {
            continue;
        };
        let mut parts = rest.splitn(2, ' ');
        let name = parts.next().unwrap_or("").to_string();
        let default = parts
            .next()
            .and_then(|t| t.split_once('='))
            .map(|(_, d)| d.trim().to_string());
        out.insert(name, default);
    }
    out
}

/// Documented defaults from the Markdown tables of `docs/*.md`: rows that start with
/// `` | `VAR` | `` and whose second cell is one backticked literal (or `—`, meaning unset).
pub fn documented_defaults() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for path in files_with_ext("docs", ".md") {
        let text = fs::read_to_string(&path).unwrap_or_default();
        for line in text.lines() {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells.len() < 4 || !cells[0].is_empty() {
                continue;
            }
            let Some(var) = cells[1].strip_prefix('`').and_then(|c| c.strip_suffix('`')) else {
                continue;
            };
            let default = cells[2];
            let value = if default.starts_with('—') {
                Some(String::new())
            } else {
                default
                    .strip_prefix('`')
                    .and_then(|d| d.strip_suffix('`'))
                    .filter(|d| !d.contains('`') && !d.contains('$'))
                    .map(str::to_string)
            };
            if let Some(v) = value {
                out.insert(var.to_string(), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod self_tests {
    use super::*;

    #[test]
    fn env_literals_take_whole_literals_only() {
        let text =
            r#"vars.get("MFA_STORE"); bail!("MFA_ADMIN_AUTH=dev: no"); x("MFA_"); "MFA_A1_B""#;
        let got: Vec<_> = env_literals(text, "MFA_").into_iter().collect();
        assert_eq!(got, ["MFA_A1_B", "MFA_STORE"]);
    }

    #[test]
    fn inline_test_modules_are_cut_but_declarations_kept() {
        let text =
            "a\n#[cfg(test)]\nmod tests;\nb \"MFA_X\"\n#[cfg(test)]\nmod tests {\n \"MFA_Y\"\n}\n";
        let kept = strip_inline_test_module(text);
        assert!(kept.contains("MFA_X"));
        assert!(!kept.contains("MFA_Y"));
    }
}
