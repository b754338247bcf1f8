//! Branded HTML pages, rendered from a handlebars template with every value escaped.
//!
//! The template is embedded in the binary; `MFA_TEMPLATE_DIR/page.hbs` replaces it when set
//! (checked at start-up: a broken override stops the process, naming the variable).

use handlebars::Handlebars;
use mfa_core::config::{Branding, ConfigError};
use serde::Serialize;
use std::path::Path;
use url::Url;
use warp::http::StatusCode;
use warp::reply::Response;

use crate::respond;

const PAGE: &str = include_str!("templates/page.hbs");

/// The colour (and meaning) of a page's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// Progress (blue `#0078D4`).
    Info,
    /// Nothing more to do (green `#4caf50`).
    Success,
    /// Not recognised (orange `#f57c00`).
    Warning,
    /// Invalid or failed (red `#d32f2f`).
    Danger,
}

impl Tone {
    /// The header colour.
    pub fn color(self) -> &'static str {
        match self {
            Tone::Info => "#0078D4",
            Tone::Success => "#4caf50",
            Tone::Warning => "#f57c00",
            Tone::Danger => "#d32f2f",
        }
    }
}

/// What one page says.
#[derive(Debug, Clone)]
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Machine-readable outcome name (`data-outcome` attribute), e.g. `started`.
    pub outcome: &'static str,
    /// Header colour.
    pub tone: Tone,
    /// `<title>` and header.
    pub heading: &'static str,
    /// The paragraph under the header.
    pub message: String,
    /// Show the two-step progress.
    pub steps: bool,
    /// Redirect target and countdown seconds.
    pub redirect: Option<(Url, u32)>,
    /// Token for the enrol confirmation button.
    pub confirm_token: Option<String>,
    /// Show the resend form.
    pub resend_form: bool,
}

impl Page {
    /// A plain page with a message.
    pub fn new(
        status: StatusCode,
        outcome: &'static str,
        tone: Tone,
        heading: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            outcome,
            tone,
            heading,
            message: message.into(),
            steps: false,
            redirect: None,
            confirm_token: None,
            resend_form: false,
        }
    }
}

#[derive(Serialize)]
struct View<'a> {
    title: &'a str,
    heading: &'a str,
    message: &'a str,
    outcome: &'a str,
    tone_color: &'a str,
    brand_color: &'a str,
    org_name: &'a str,
    logo_url: Option<&'a str>,
    support_contact: &'a str,
    steps: bool,
    redirect_url: Option<&'a str>,
    redirect_seconds: u32,
    confirm_token: Option<&'a str>,
    resend_form: bool,
    nonce: &'a str,
}

/// The page renderer.
#[derive(Debug)]
pub struct Pages {
    hb: Handlebars<'static>,
    branding: Branding,
}

impl Pages {
    /// Compiles the built-in template, or `dir/page.hbs` when an override directory is given.
    pub fn new(branding: Branding, dir: Option<&Path>) -> Result<Self, ConfigError> {
        let mut hb = Handlebars::new();
        let source = match dir {
            None => PAGE.to_string(),
            Some(dir) => std::fs::read_to_string(dir.join("page.hbs")).map_err(|e| {
                ConfigError::new("MFA_TEMPLATE_DIR", format!("cannot read page.hbs: {e}"))
            })?,
        };
        hb.register_template_string("page", source).map_err(|e| {
            ConfigError::new(
                "MFA_TEMPLATE_DIR",
                format!("page.hbs does not compile: {e}"),
            )
        })?;
        Ok(Self { hb, branding })
    }

    /// Renders `page` with the security headers pages need.
    pub fn render(&self, page: &Page) -> Response {
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        match self.render_html(page, &nonce) {
            Ok(body) => respond::html(page.status, body, &nonce),
            Err(e) => {
                tracing::error!(error = %e, "rendering a page failed");
                respond::plain(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.")
            }
        }
    }

    /// The page's HTML, with scripts carrying `nonce`.
    pub fn render_html(&self, page: &Page, nonce: &str) -> Result<String, handlebars::RenderError> {
        let view = View {
            title: page.heading,
            heading: page.heading,
            message: &page.message,
            outcome: page.outcome,
            tone_color: page.tone.color(),
            brand_color: &self.branding.primary_color,
            org_name: self.branding.org_display(),
            logo_url: self.branding.logo_url.as_ref().map(Url::as_str),
            support_contact: &self.branding.support_contact,
            steps: page.steps,
            redirect_url: page.redirect.as_ref().map(|(u, _)| u.as_str()),
            redirect_seconds: page.redirect.as_ref().map_or(0, |(_, s)| *s),
            confirm_token: page.confirm_token.as_deref(),
            resend_form: page.resend_form,
            nonce,
        };
        self.hb.render("page", &view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let branding = Branding {
            org_name: Some("<script>alert(1)</script>".into()),
            logo_url: None,
            primary_color: "#0078D4".into(),
            support_contact: "\"help\"".into(),
        };
        let pages = Pages::new(branding, None).map_err(|e| e.to_string());
        let Ok(pages) = pages else {
            panic!("template compiles: {pages:?}");
        };
        let page = Page::new(StatusCode::OK, "x", Tone::Info, "Hi", "<b>bold</b>");
        let body = pages.render_html(&page, "n").unwrap_or_default();
        assert!(body.contains("&lt;script&gt;"), "{body}");
        assert!(!body.contains("<script>alert"));
        assert!(!body.contains("<b>bold"));
    }
}
