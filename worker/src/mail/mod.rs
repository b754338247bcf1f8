//! Email: templates, the content of each email, and the sending limits.
//!
//! - [`templates`]: handlebars templates, embedded and overridable.
//! - [`limiter`]: per-mailbox Exchange limits, primed from the store's mail log.
//! - [`compose`]: the data each template is rendered with.

pub mod compose;
pub mod limiter;
pub mod templates;

pub use limiter::SendLimiter;
pub use templates::{Rendered, Template, Templates};
