//! The contract, end to end through the real handlers against DynamoDB Local.

mod smoke;
