//! Shared domain (placeholder).
