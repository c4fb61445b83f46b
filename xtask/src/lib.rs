//! The project's own tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! - [`endpoints`]: everything about deploying an endpoint that follows from its row in the
//!   endpoint table (`payments/src/routes.rs`); `make endpoints` runs it, and the deploy tests
//!   (`tests/tests/deploy.rs`) fail when what it writes is stale.

pub mod endpoints;
