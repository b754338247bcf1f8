//! Microsoft 365 tenant simulator (placeholder until its issue lands).
