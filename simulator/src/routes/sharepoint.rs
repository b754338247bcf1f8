//! SharePoint routes (placeholder).
#![allow(clippy::too_many_arguments)]

use crate::errors::{GraphError, GraphResult};
use crate::http::SimRequest;
use crate::routes::ListRef;
use crate::shared::{Ctx, Shared};

fn todo_sp() -> GraphResult {
    Err(GraphError::new(
        501,
        "notImplemented",
        "SharePoint is not simulated yet.",
    ))
}
pub(crate) fn get_site(_: &Shared, _: &str, _: &str) -> GraphResult {
    todo_sp()
}
pub(crate) fn lists(_: &Shared, _: &Ctx, _: &SimRequest, _: &str, _: &str, _: bool) -> GraphResult {
    todo_sp()
}
pub(crate) fn get_list(_: &Shared, _: &str, _: &ListRef) -> GraphResult {
    todo_sp()
}
pub(crate) fn columns(_: &Shared, _: &SimRequest, _: &str, _: &ListRef, _: bool) -> GraphResult {
    todo_sp()
}
pub(crate) fn patch_column(
    _: &Shared,
    _: &SimRequest,
    _: &str,
    _: &ListRef,
    _: &str,
) -> GraphResult {
    todo_sp()
}
pub(crate) fn items(
    _: &Shared,
    _: &Ctx,
    _: &SimRequest,
    _: &str,
    _: &ListRef,
    _: bool,
) -> GraphResult {
    todo_sp()
}
pub(crate) fn item(
    _: &Shared,
    _: &Ctx,
    _: &SimRequest,
    _: &str,
    _: &ListRef,
    _: &str,
    _: bool,
) -> GraphResult {
    todo_sp()
}
pub(crate) fn patch_fields(
    _: &Shared,
    _: &Ctx,
    _: &SimRequest,
    _: &str,
    _: &ListRef,
    _: &str,
) -> GraphResult {
    todo_sp()
}
pub(crate) fn delta(_: &Shared, _: &Ctx, _: &SimRequest, _: &str, _: &ListRef) -> GraphResult {
    todo_sp()
}
