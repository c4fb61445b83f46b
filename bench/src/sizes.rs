//! Deployable size. The release zips come from `make build` (cargo-lambda, LTO, minutes too
//! long for `make bench`): read from `target/lambda/` when they are there. Every run also
//! measures what it built itself: the bench-profile binary, stripped, then deflated as a zip
//! would store it (no LTO, 16 codegen units: an estimate that runs above the release zip).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// One function's sizes, in bytes.
#[derive(Debug, Clone)]
pub struct FunctionSize {
    pub name: String,
    /// The bench-profile binary as built, then stripped, then deflated (`gzip -9`).
    pub bench_binary: Option<u64>,
    pub bench_stripped: Option<u64>,
    pub bench_deflated: Option<u64>,
    /// `target/lambda/<name>/bootstrap.zip`, when `make build` made one.
    pub release_zip: Option<ReleaseZip>,
}

#[derive(Debug, Clone)]
pub struct ReleaseZip {
    pub bytes: u64,
    /// The binary's architecture, from the ELF header of the zip's `bootstrap`.
    pub arch: String,
    /// When it was built (UTC, to the minute).
    pub built: String,
}

/// Sizes of `functions`: bench binaries from `bin_dir`, release zips from `lambda_dir`.
pub fn measure(functions: &[&str], bin_dir: &Path, lambda_dir: &Path) -> Vec<FunctionSize> {
    functions
        .iter()
        .map(|name| {
            let bin = bin_dir.join(name);
            let stripped = strip(&bin);
            FunctionSize {
                name: name.to_string(),
                bench_binary: std::fs::metadata(&bin).ok().map(|m| m.len()),
                bench_stripped: stripped
                    .as_ref()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len()),
                bench_deflated: stripped.as_deref().and_then(deflated),
                release_zip: release_zip(&lambda_dir.join(name)),
            }
        })
        .collect()
}

/// A stripped copy of `bin` in the temp folder.
fn strip(bin: &Path) -> Option<PathBuf> {
    let name = bin.file_name()?.to_str()?;
    let out = std::env::temp_dir().join(format!(
        "replaysafe-bench-{}-{name}-stripped",
        std::process::id()
    ));
    let ok = Command::new("strip")
        .arg("-o")
        .arg(&out)
        .arg(bin)
        .status()
        .ok()?
        .success();
    ok.then_some(out)
}

/// `file` deflated at the highest level, as `zip -9` would store it (less zip's ~100-byte
/// headers); the stripped copy is removed.
fn deflated(file: &Path) -> Option<u64> {
    let out = Command::new("gzip").arg("-9c").arg(file).output().ok();
    let _ = std::fs::remove_file(file);
    let out = out?;
    out.status.success().then_some(out.stdout.len() as u64)
}

fn release_zip(dir: &Path) -> Option<ReleaseZip> {
    let zip = std::fs::metadata(dir.join("bootstrap.zip")).ok()?;
    let elf = Command::new("unzip")
        .arg("-p")
        .arg(dir.join("bootstrap.zip"))
        .arg("bootstrap")
        .output()
        .ok();
    let arch = elf
        .and_then(|out| {
            out.stdout
                .get(18..20)
                .map(|m| u16::from_le_bytes([m[0], m[1]]))
        })
        .map_or("unknown arch", |machine| match machine {
            0x3e => "x86_64",
            0xb7 => "arm64",
            _ => "other arch",
        });
    Some(ReleaseZip {
        bytes: zip.len(),
        arch: arch.to_owned(),
        built: zip.modified().map_or("unknown".into(), utc_minute),
    })
}

fn utc_minute(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    time::OffsetDateTime::from_unix_timestamp(secs).map_or("unknown".into(), |d| {
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            d.year(),
            u8::from(d.month()),
            d.day(),
            d.hour(),
            d.minute()
        )
    })
}

/// Bytes as MiB, two decimals.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
