//! `make endpoints`: writes every file derived from the endpoint table
//! (`payments/src/routes.rs`) and `openapi.yaml`, see `replaysafe_tests::generate`; deletes the
//! function packages and events no row asks for. Prints what it changed.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace");
    match replaysafe_tests::generate::write(root) {
        Ok(changed) if changed.is_empty() => {
            println!("endpoints: every generated file is up to date");
            ExitCode::SUCCESS
        }
        Ok(changed) => {
            for line in changed {
                println!("endpoints: {line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("endpoints: {e}");
            ExitCode::FAILURE
        }
    }
}
