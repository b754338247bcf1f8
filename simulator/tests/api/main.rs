//! Integration tests: the simulator as the product sees it over HTTP.

mod audit;
mod auth;
mod batch;
mod control;
mod directory;
mod helpers;
mod mail;
mod outbox;
mod passkeys;
mod policy;
mod reports;
mod sharepoint;
