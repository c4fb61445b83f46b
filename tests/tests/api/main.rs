//! The contract, end to end through the real handlers against DynamoDB Local.

mod authorizer;
mod bad_input;
mod concurrency;
mod contract;
mod finality;
mod hung_dynamodb;
mod leaks;
mod profiles;
mod smoke;
