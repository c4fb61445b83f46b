//! The two request bodies: never a panic; a refusal is `invalid-json` exactly when the bytes
//! are not one JSON value, `validation-failed` otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payments::domain::{NewAccount, NewTransfer};
use replaysafe::Problem;

fuzz_target!(|data: &[u8]| {
    let is_json = serde_json::from_slice::<serde_json::Value>(data).is_ok();
    let expected = if is_json {
        "validation-failed"
    } else {
        "invalid-json"
    };
    if let Err(e) = NewTransfer::parse(data) {
        assert_eq!(e.code(), expected);
    }
    if let Err(e) = NewAccount::parse(data) {
        assert_eq!(e.code(), expected);
    }
});
