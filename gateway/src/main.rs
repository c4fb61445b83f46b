//! `local-gateway`: the API Gateway of `make run` (see the library's documentation and
//! docs/local-gateway.md). `scripts/run.sh` starts it in front of `cargo lambda watch`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, ValueEnum};
use replaysafe_gateway::jwt::Authorizer;
use replaysafe_gateway::router::Router;
use replaysafe_gateway::{serve, Auth, Gateway};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Mode {
    Signature,
    Jwt,
}

/// Serve the declared routes as API Gateway's HTTP API does (payload 2.0), invoking each
/// function through a Lambda Invoke API (cargo lambda watch).
#[derive(Parser, Debug)]
#[command(name = "local-gateway")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:9000")]
    listen: String,
    /// The Lambda Invoke API (cargo lambda watch's invoke address).
    #[arg(long)]
    lambda_url: String,
    /// The Cargo.toml whose [workspace.metadata.lambda.watch.router] declares the routes.
    #[arg(long, default_value = "Cargo.toml")]
    manifest: PathBuf,
    /// `signature`: no authorizer; `jwt`: the JWT authorizer with the key of --jwt-dev.
    #[arg(long, env = "AUTH_MODE", value_enum, default_value = "signature")]
    auth_mode: Mode,
    /// {"issuer", "audience", "kid", "private_key_pem"} (jwt mode).
    #[arg(long, default_value = ".local/jwt-dev.json")]
    jwt_dev: PathBuf,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let fail = |e: String| -> ! {
        eprintln!("local-gateway: {e}");
        std::process::exit(2)
    };
    let manifest = std::fs::read_to_string(&args.manifest)
        .unwrap_or_else(|e| fail(format!("{}: {e}", args.manifest.display())));
    let router = Router::from_manifest(&manifest).unwrap_or_else(|e| fail(e));
    let auth = match args.auth_mode {
        Mode::Signature => Auth::Signature,
        Mode::Jwt => Auth::Jwt(Authorizer::from_file(&args.jwt_dev).unwrap_or_else(|e| fail(e))),
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .unwrap_or_else(|e| fail(format!("listen on {}: {e}", args.listen)));
    let routes: Vec<String> = router
        .routes()
        .iter()
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.function))
        .collect();
    eprintln!(
        "local-gateway: http://{} ({:?} mode) -> {}: {}",
        listener
            .local_addr()
            .map_or(args.listen.clone(), |a| a.to_string()),
        args.auth_mode,
        args.lambda_url,
        routes.join(", ")
    );
    serve(
        listener,
        Arc::new(Gateway::new(router, auth, &args.lambda_url)),
    )
    .await;
}
