//! The `fake-bank` binary, started as a process and spoken to over HTTP, as the payments
//! system's tests will.

mod client;
mod faults;
mod payments;
