//! Consistency checks between the code, the docs and the Azure deployment.
//!
//! - [`settings`]: every `MFA_*` variable the code reads is documented, set by `infra/` (or
//!   deliberately left to its default), and every setting `infra/` makes is read by the code.
//! - [`templates`]: secure defaults and the Flex Consumption shape of the Bicep, `azure.yaml`.
//! - [`functions`]: `host.json` and `functions/*/function.json` match the handler's routes.
//! - [`package`]: `scripts/package` assembles the layout the Functions host expects.
//! - [`no_simulator`]: what ships to Azure has no tenant simulator (no `handler local`).
//! - [`scripts`]: `scripts/test` and `scripts/package` print usage on `--help`.
//!
//! The files are read as text from the repository root: the Bicep compiler, `func` and `azd`
//! are not available where the tests run.

mod functions;
mod helpers;
mod no_simulator;
mod package;
mod scripts;
mod settings;
mod templates;
