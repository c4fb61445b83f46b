//! The cold start refuses unsafe settings with a message that names them. Its own test binary:
//! it sets process environment variables, which no other test may see.

use replaysafe::Config;

#[test]
fn the_cold_start_refuses_a_retention_too_short_for_the_window() {
    std::env::set_var("REPLAY_WINDOW_SECONDS", "1800");
    std::env::set_var("IDEMPOTENCY_TTL_SECONDS", "3600");
    let err = Config::from_env().expect_err("3600 s cannot cover two 1800 s windows");
    let message = err.to_string();
    assert!(message.contains("IDEMPOTENCY_TTL_SECONDS"), "{message}");
    assert!(message.contains("3600"), "{message}");

    std::env::set_var("IDEMPOTENCY_TTL_SECONDS", "3660");
    let config = Config::from_env().expect("2 × 1800 + 60 is enough");
    assert_eq!(config.idempotency_ttl_seconds, 3660);

    std::env::set_var("REPLAY_WINDOW_SECONDS", "300");
    std::env::set_var("IDEMPOTENCY_TTL_SECONDS", "1200");
    assert!(Config::from_env().is_err(), "under the one-hour floor");
}
