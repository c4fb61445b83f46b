//! The HTTP edge, framework-neutral: a view of a request ([`Incoming`]), the one place responses
//! are built ([`Response`] is `http::Response<String>`), and [`respond`], which runs an endpoint,
//! logs it and writes its metric document (see [`crate::metrics`]). The Lambda adapter
//! ([`crate::lambda`]) converts to and from API Gateway events; another HTTP stack converts its
//! own request to an [`Incoming`] and calls [`respond`] (or [`respond_route`]).

mod problem;
mod request;
mod respond;
mod response;

pub use problem::problem;
pub(crate) use problem::problem_answer;
pub use request::{route_matches, Incoming};
#[cfg(feature = "lambda")]
pub(crate) use respond::{conclude, At};
pub use respond::{respond, respond_route};
pub use response::{finish, json, not_modified, stored, Reply, Response};
