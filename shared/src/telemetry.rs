//! Structured JSON logs. `RUST_LOG` filters (default `info`); the SDK's own chatter stays at
//! `warn`.

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter, FilterExt};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// The filter when `RUST_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info,aws_smithy_runtime=warn,aws_config=warn";

/// Installs [`layer`] over stdout, filtered by `RUST_LOG`, as the process's subscriber. Once
/// one is installed, later calls change nothing.
pub fn init() {
    let directives = std::env::var("RUST_LOG").ok();
    let _ = tracing_subscriber::registry()
        .with(layer(directives.as_deref(), std::io::stdout))
        .try_init();
}

/// The JSON log layer, filtered by `directives` (`RUST_LOG` syntax; the default when absent or
/// invalid), written to `writer`. Whatever the directives, the AWS SDK's TRACE events are dropped: they print whole
/// DynamoDB responses, and a `GetItem` on the clients table carries a client's secret.
pub fn layer<S, W>(directives: Option<&str>, writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = directives
        .and_then(|d| EnvFilter::try_new(d).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_FILTER));
    let no_sdk_wire_dumps = filter_fn(|meta| {
        !(*meta.level() == Level::TRACE && meta.target().starts_with("aws_smithy"))
    });
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_target(false)
        .with_writer(writer)
        .with_filter(filter.and(no_sdk_wire_dumps))
}
