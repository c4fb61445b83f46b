//! How the demo shows and judges an answer, in one place so that every scenario prints alike
//! and a single surprise anywhere turns the exit code to 1.

use replaysafe_client::{PreparedRequest, RawResponse};

use super::Demo;
use crate::Failure;

impl Demo<'_> {
    /// Prints an answer and checks it is the one the contract promises.
    pub(super) fn expect(&mut self, step: &str, got: &RawResponse, status: u16, code: &str) {
        let problem = (!got.is_success()).then(|| got.problem());
        let shown = match &problem {
            Some(p) => p.to_string(),
            None if got.replayed() => format!("{} (Idempotent-Replayed: true)", got.status),
            None if got.status == 201 => "201 Created".to_owned(),
            None => got.status.to_string(),
        };
        let got_code = problem
            .as_ref()
            .map(|p| p.code.to_string())
            .unwrap_or_default();
        if got.status == status && got_code == code {
            println!("   → {shown}   ✓");
        } else {
            let want = if code.is_empty() {
                status.to_string()
            } else {
                format!("{status} {code}")
            };
            println!("   → {shown}   ✗ expected {want}");
            self.surprises
                .push(format!("{step}: got {shown}, expected {want}"));
        }
    }

    pub(super) fn check(&mut self, step: &str, ok: bool, what: String) {
        if ok {
            println!("   {what}   ✓");
        } else {
            println!("   {what}   ✗");
            self.surprises.push(format!("{step}: {what}"));
        }
    }

    /// The closing line, and the exit code: 1 when any step surprised.
    pub(super) fn finish(self) -> Result<(), Failure> {
        if self.surprises.is_empty() {
            println!(
                "\nEvery replay was refused, and every retry got the first answer back: \
                 replay-safe and safe to retry."
            );
            Ok(())
        } else {
            eprintln!(
                "error: {} scenario(s) did not behave as the contract says: {}",
                self.surprises.len(),
                self.surprises.join("; ")
            );
            Err(Failure::Status)
        }
    }
}

/// A request as an attacker on the path sees it: what it may replay or edit.
pub(super) fn describe(request: &PreparedRequest) -> String {
    format!(
        "{} {}  Idempotency-Key {}  created={}  nonce={}",
        request.method,
        request.path,
        request.header("idempotency-key").unwrap_or("-"),
        request.created().unwrap_or_default(),
        request.nonce().unwrap_or_default()
    )
}
