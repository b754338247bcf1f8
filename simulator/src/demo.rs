//! Seeding a realistic demo organisation (placeholder).

/// What `seed_demo` created.
#[derive(Debug, Clone, Default)]
pub struct DemoOrg {}
