//! The `/_sim/` control API (placeholder).

use crate::http::{SimRequest, SimResponse};
use crate::shared::Shared;

pub(crate) async fn route(_shared: &Shared, _req: &SimRequest, _rest: &[&str]) -> SimResponse {
    SimResponse::empty(404)
}
