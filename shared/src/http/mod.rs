//! The HTTP edge: a framework-neutral view of a request, and the one place responses are built.

mod problem;
mod request;
mod response;
mod serve;

pub use problem::problem;
pub use request::Incoming;
pub use response::{finish, json, not_modified, stored, Reply};
pub use serve::serve;
