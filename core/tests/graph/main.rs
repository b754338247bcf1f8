//! Graph client integration tests against a fault-scripting stand-in (`helpers`).

mod auth;
mod batch;
mod helpers;
mod retry;
mod sharepoint;
mod simulator;
mod typed;
