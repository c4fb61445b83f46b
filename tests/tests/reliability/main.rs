//! Under attack and failure: faults between the functions and DynamoDB, invocations and real
//! function processes that die mid-request, and the bank workload over HTTP. Sizes are bounded
//! for `make test`; `make soak` raises them through the environment (see each module).

mod bank;
mod crash;
mod faults;
mod outside;
mod process_crash;
