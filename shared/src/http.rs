//! The HTTP edge, framework-neutral: a view of a request ([`Incoming`]), the one place responses
//! are built ([`Response`] is `http::Response<String>`), and [`respond`], which runs an endpoint
//! and logs it. The Lambda adapter ([`crate::lambda`]) converts to and from API Gateway events;
//! another HTTP stack converts its own request to an [`Incoming`] and calls [`respond`].

mod problem;
mod request;
mod respond;
mod response;

pub use problem::problem;
pub(crate) use problem::problem_answer;
pub use request::{route_matches, Incoming};
#[cfg(feature = "lambda")]
pub(crate) use respond::conclude;
pub use respond::respond;
pub use response::{finish, json, not_modified, stored, Reply, Response};
