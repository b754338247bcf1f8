//! Integration tests: the simulator as the product sees it over HTTP.

mod auth;
mod batch;
mod directory;
mod helpers;
mod mail;
mod reports;
mod sharepoint;
