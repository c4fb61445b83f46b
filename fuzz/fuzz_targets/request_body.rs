//! The two request bodies: never a panic; a refusal is `invalid-json` exactly when the bytes
//! are not one JSON value, `validation-failed` otherwise.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payments::domain::{NewAccount, NewTransfer};
use replaysafe::Problem;

fuzz_target!(|data: &[u8]| {
    // serde_json's Value also refuses a number beyond f64 (`33E3333`), which is still JSON: the
    // grammar (RFC 8259) has no range. Only then, the syntax alone (serde's pass that reads
    // numbers without converting them; it skips string contents, hence the UTF-8 check).
    let is_json = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(_) => true,
        Err(e) if e.to_string().starts_with("number out of range") => {
            std::str::from_utf8(data).is_ok()
                && serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
        }
        Err(_) => false,
    };
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
