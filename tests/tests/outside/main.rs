//! Exactly once beyond HTTP, against DynamoDB Local: payouts from a queue (contract-modes §2)
//! and withdrawals to the fake bank, a real process (§3). Money is conserved in every test.

mod payouts;
mod withdrawals;
