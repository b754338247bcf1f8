//! The worker's passes (placeholder until its issue lands).
