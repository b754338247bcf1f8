//! Email templates: handlebars, embedded in the binary, overridable from files.
//!
//! Each email has three templates: `<name>.subject.hbs`, `<name>.html.hbs` (HTML-escaped values)
//! and `<name>.txt.hbs` (plain text). Admins override any of them by putting a file with the same
//! name in `MFA_TEMPLATE_DIR`; overrides are compiled at start-up, so a broken template stops the
//! worker with the file's name instead of failing at send time.

use std::path::Path;

use anyhow::Context;
use handlebars::{handlebars_helper, Handlebars};
use serde::Serialize;

/// The embedded templates, by file name.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "layout-start.partial.hbs",
        include_str!("../../templates/layout-start.partial.hbs"),
    ),
    (
        "layout-end.partial.hbs",
        include_str!("../../templates/layout-end.partial.hbs"),
    ),
    (
        "invitation.subject.hbs",
        include_str!("../../templates/invitation.subject.hbs"),
    ),
    (
        "invitation.html.hbs",
        include_str!("../../templates/invitation.html.hbs"),
    ),
    (
        "invitation.txt.hbs",
        include_str!("../../templates/invitation.txt.hbs"),
    ),
    (
        "reminder.subject.hbs",
        include_str!("../../templates/reminder.subject.hbs"),
    ),
    (
        "reminder.html.hbs",
        include_str!("../../templates/reminder.html.hbs"),
    ),
    (
        "reminder.txt.hbs",
        include_str!("../../templates/reminder.txt.hbs"),
    ),
    (
        "escalation.subject.hbs",
        include_str!("../../templates/escalation.subject.hbs"),
    ),
    (
        "escalation.html.hbs",
        include_str!("../../templates/escalation.html.hbs"),
    ),
    (
        "escalation.txt.hbs",
        include_str!("../../templates/escalation.txt.hbs"),
    ),
    (
        "report.subject.hbs",
        include_str!("../../templates/report.subject.hbs"),
    ),
    (
        "report.html.hbs",
        include_str!("../../templates/report.html.hbs"),
    ),
    (
        "report.txt.hbs",
        include_str!("../../templates/report.txt.hbs"),
    ),
];

/// The emails the worker sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// First email with the personal link.
    Invitation,
    /// Periodic reminder.
    Reminder,
    /// Note to the manager.
    Escalation,
    /// Admin summary.
    Report,
}

impl Template {
    fn name(self) -> &'static str {
        match self {
            Template::Invitation => "invitation",
            Template::Reminder => "reminder",
            Template::Escalation => "escalation",
            Template::Report => "report",
        }
    }
}

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line (one line, trimmed).
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Plain-text body.
    pub text: String,
}

/// Compiled templates.
#[derive(Debug)]
pub struct Templates {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    /// The files taken from the override directory.
    overridden: Vec<&'static str>,
}

handlebars_helper!(concat: |*args| args.iter().map(|a| match a.as_str() {
    Some(s) => s.to_string(),
    None => a.to_string(),
}).collect::<String>());

handlebars_helper!(num: |v: Json| match v.as_u64() {
    Some(n) => thousands(n),
    None => match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    },
});

/// `n` with a thousands separator: `100,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Escapes what HTML needs escaped in text and in quoted attributes, and nothing else, so links
/// keep their literal `=` and `&` … as mail clients and link scanners expect (handlebars' default
/// also escapes `=` and backticks, which turns `?token=` into `?token&#x3D;`).
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn registry(escape: bool) -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(false);
    hb.register_helper("concat", Box::new(concat));
    hb.register_helper("num", Box::new(num));
    if escape {
        hb.register_escape_fn(escape_html);
    } else {
        hb.register_escape_fn(handlebars::no_escape);
    }
    hb
}

impl Templates {
    /// The embedded templates, with any overrides found in `override_dir`.
    pub fn load(override_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut html = registry(true);
        let mut text = registry(false);
        let mut overridden = Vec::new();
        for (file, embedded) in EMBEDDED {
            let source = match override_dir.map(|d| d.join(file)) {
                Some(path) if path.is_file() => {
                    overridden.push(*file);
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("reading template {}", path.display()))?
                }
                _ => (*embedded).to_string(),
            };
            let name = file.trim_end_matches(".hbs");
            if let Some(partial) = name.strip_suffix(".partial") {
                html.register_partial(partial, &source)
                    .with_context(|| format!("template {file}"))?;
            } else if name.ends_with(".html") {
                html.register_template_string(name, &source)
                    .with_context(|| format!("template {file}"))?;
            } else {
                text.register_template_string(name, &source)
                    .with_context(|| format!("template {file}"))?;
            }
        }
        Ok(Self {
            html,
            text,
            overridden,
        })
    }

    /// The files `template` is made of (its subject, HTML and text, and the shared partials),
    /// each marked built-in or override.
    pub fn sources(&self, template: Template) -> Vec<mfa_core::passes::TemplateSource> {
        let name = template.name();
        EMBEDDED
            .iter()
            .map(|(file, _)| *file)
            .filter(|file| file.starts_with(&format!("{name}.")) || file.contains(".partial."))
            .map(|file| mfa_core::passes::TemplateSource {
                file: file.to_string(),
                source: if self.overridden.contains(&file) {
                    "override".into()
                } else {
                    "built-in".into()
                },
            })
            .collect()
    }

    /// Renders one email with `data` (values are HTML-escaped in the HTML body).
    pub fn render<T: Serialize>(&self, template: Template, data: &T) -> anyhow::Result<Rendered> {
        let name = template.name();
        let subject = self
            .text
            .render(&format!("{name}.subject"), data)
            .with_context(|| format!("rendering {name} subject"))?;
        let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
        let html = self
            .html
            .render(&format!("{name}.html"), data)
            .with_context(|| format!("rendering {name} HTML"))?;
        let text = self
            .text
            .render(&format!("{name}.txt"), data)
            .with_context(|| format!("rendering {name} text"))?;
        Ok(Rendered {
            subject,
            html,
            text,
        })
    }
}
