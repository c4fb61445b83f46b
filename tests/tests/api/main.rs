//! The contract, end to end through the real handlers against DynamoDB Local.

// The contract (`docs/contract.md`), rule by rule, as a client and an attacker see it: a file a
// rule, on the helpers in `support`.
mod accounts;
mod business_refusals;
mod etags;
mod expiry;
mod freshness;
mod infrastructure_failures;
mod order_of_checks;
mod ownership;
mod replays;
mod same_invocation;
mod signatures;
mod signed_path;
mod support;
mod tampering;

// Beyond the contract's rules: other modes, bad input in bulk, races, finality, leaks.
mod authorizer;
mod bad_input;
mod concurrency;
mod finality;
mod hung_dynamodb;
mod leaks;
mod metrics;
mod profiles;
mod smoke;
