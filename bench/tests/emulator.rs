//! The Runtime API emulator drives a real lambda_runtime function: the events reach it, its
//! answers come back, and the cold-start record is filled in. No timing is asserted.

use std::path::Path;

use replaysafe_bench::cold::cold_start;
use serde_json::json;

#[tokio::test]
async fn a_function_under_the_emulator_answers_its_first_and_warm_invocations() {
    let program = Path::new(env!("CARGO_BIN_EXE_echo-function"));
    let events = [json!({"n": 1}), json!({"n": 2})];
    let run = cold_start(program, &[], &[], events, 200)
        .await
        .expect("the function answers");
    assert!(run.init <= run.total, "init ends before the first answer");
    assert!(run.peak_rss_kib > 0, "peak RSS read from /proc");
}

#[tokio::test]
async fn an_unexpected_answer_is_reported() {
    let program = Path::new(env!("CARGO_BIN_EXE_echo-function"));
    let events = [json!({}), json!({})];
    let err = cold_start(program, &[], &[], events, 201)
        .await
        .unwrap_err();
    assert!(err.contains("answered"), "{err}");
}
