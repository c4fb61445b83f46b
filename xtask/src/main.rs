//! `cargo xtask endpoints` (`make endpoints`): writes every file derived from the endpoint
//! table (`payments/src/routes.rs`) and `openapi.yaml`, see [`xtask::endpoints`]; deletes the
//! function packages and events no row asks for. Prints what it changed.

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask endpoints";

fn main() -> ExitCode {
    let task: Vec<String> = std::env::args().skip(1).collect();
    if task != ["endpoints"] {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace");
    match xtask::endpoints::write(root) {
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
