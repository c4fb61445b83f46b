//! Tokens for a `jwt`-mode API run locally: `replaysafe admin token` and `--sub`, signed with the
//! local key of `.local/jwt-dev.json` (what `AUTH_MODE=jwt make run` writes, and what its JWT
//! authorizer verifies against).

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

use crate::Failure;

pub const DEFAULT_JWT_DEV_FILE: &str = ".local/jwt-dev.json";
pub const JWT_DEV_ENV: &str = "REPLAYSAFE_JWT_DEV";
/// One hour: `admin token`'s default lifetime.
pub const DEFAULT_EXPIRES_IN: u64 = 3600;
/// A year: longer is no test token.
pub const MAX_EXPIRES_IN: u64 = 365 * 24 * 3600;

/// `.local/jwt-dev.json`: the local issuer, audience and signing key (RS256).
#[derive(Deserialize)]
pub struct JwtDev {
    pub issuer: String,
    pub audience: String,
    pub kid: String,
    pub private_key_pem: String,
}

impl JwtDev {
    pub fn from_file(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let hint = if path.exists() {
                ""
            } else {
                " (start the stack with `AUTH_MODE=jwt make run`, or pass --jwt-dev FILE / set \
                 REPLAYSAFE_JWT_DEV)"
            };
            Failure::Usage(format!("cannot read {}: {e}{hint}", path.display()))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Failure::Usage(format!(
                "{} is not a jwt-dev file ({{\"issuer\", \"audience\", \"kid\", \
                 \"private_key_pem\"}}): {e}",
                path.display()
            ))
        })
    }
}

/// The claims of a token: what API Gateway's JWT authorizer checks (`iss`, `aud`, `exp`,
/// `nbf`) and the principal (`sub`).
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
}

/// The contract's principal: 1 to 255 Unicode scalar values, taken exactly as given.
pub fn check_sub(sub: &str) -> Result<(), Failure> {
    match sub.chars().count() {
        1..=255 => Ok(()),
        0 => Err(Failure::Usage(
            "--sub must not be empty: a principal is 1 to 255 characters".into(),
        )),
        n => Err(Failure::Usage(format!(
            "--sub is {n} characters long: a principal is 1 to 255 characters"
        ))),
    }
}

fn check_expires_in(expires_in: u64) -> Result<(), Failure> {
    if (1..=MAX_EXPIRES_IN).contains(&expires_in) {
        Ok(())
    } else {
        Err(Failure::Usage(format!(
            "--expires-in must be 1 to {MAX_EXPIRES_IN} seconds"
        )))
    }
}

/// An RS256 JWT for `sub`, valid from now for `expires_in` seconds, signed with `dev`'s key.
pub fn mint(dev: &JwtDev, sub: &str, expires_in: u64) -> Result<String, Failure> {
    check_sub(sub)?;
    check_expires_in(expires_in)?;
    let key = EncodingKey::from_rsa_pem(dev.private_key_pem.as_bytes()).map_err(|e| {
        Failure::Usage(format!(
            "the jwt-dev file's private_key_pem is not an RSA private key in PEM: {e}"
        ))
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let claims = Claims {
        iss: &dev.issuer,
        aud: &dev.audience,
        sub,
        iat: now,
        nbf: now,
        exp: now + expires_in,
    };
    let header = Header {
        kid: Some(dev.kid.clone()),
        ..Header::new(Algorithm::RS256)
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| Failure::Usage(format!("cannot sign the token: {e}")))
}

/// `replaysafe admin token`.
#[derive(Args)]
pub struct TokenArgs {
    /// The principal (the token's `sub`): 1 to 255 characters, taken exactly as given.
    #[arg(long, value_name = "SUB")]
    sub: String,
    /// Lifetime of the token, in seconds.
    #[arg(long, default_value_t = DEFAULT_EXPIRES_IN, value_name = "SECONDS")]
    expires_in: u64,
    /// The local issuer, audience and signing key, as `AUTH_MODE=jwt make run` writes them.
    #[arg(long, env = JWT_DEV_ENV, default_value = DEFAULT_JWT_DEV_FILE, value_name = "FILE")]
    jwt_dev: PathBuf,
}

pub fn token(args: TokenArgs) -> Result<(), Failure> {
    // The cheap checks first: a bad --sub is refused whether or not the stack ever ran.
    check_sub(&args.sub)?;
    check_expires_in(args.expires_in)?;
    let dev = JwtDev::from_file(&args.jwt_dev)?;
    println!("{}", mint(&dev, &args.sub, args.expires_in)?);
    Ok(())
}
