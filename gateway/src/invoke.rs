//! Invoking a function the way AWS's front doors do: through the Lambda Invoke API
//! (`POST /2015-03-31/functions/<function>/invocations`), which `cargo lambda watch` serves
//! locally. The gateway and the queue mapping share it.

use std::future::Future;
use std::time::Duration;

/// Why an invocation gave no answer document.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The Invoke API could not be reached, or the connection broke.
    #[error("invoke: {0}")]
    Transport(String),
    /// No answer within the invocation's time limit.
    #[error("invoke: no answer within {0:?}")]
    Timeout(Duration),
    /// The Invoke API answered, but not with the function's answer: an error status, or a
    /// function error (`X-Amz-Function-Error`: it threw, panicked or timed out).
    #[error("invoke answered {status}{}", function_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Function {
        /// The Invoke API's HTTP status.
        status: u16,
        /// The `X-Amz-Function-Error` header, when the function failed.
        function_error: Option<String>,
        /// The error document (the function's `errorType`/`errorMessage`, or the API's).
        payload: Vec<u8>,
    },
}

impl InvokeError {
    /// The start of the error document, for a log line that may show it (the gateway's).
    pub fn payload_excerpt(&self) -> String {
        match self {
            InvokeError::Function { payload, .. } => {
                String::from_utf8_lossy(&payload[..payload.len().min(500)]).into_owned()
            }
            _ => String::new(),
        }
    }
}

/// `e` and its causes, `: `-separated (reqwest's own text hides why a connection failed).
fn with_sources(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How a function is invoked with an event: the Lambda Invoke API over HTTP ([`HttpInvoke`]),
/// or, in tests, anything that answers as a function would.
pub trait Invoke: Send + Sync {
    /// Invokes `function` with `event` (RequestResponse) and gives its answer document.
    fn invoke(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> impl Future<Output = Result<Vec<u8>, InvokeError>> + Send;
}

/// The Lambda Invoke API at a base URL, e.g. `http://127.0.0.1:9001` (cargo lambda watch).
#[derive(Debug, Clone)]
pub struct HttpInvoke {
    lambda_url: String,
    timeout: Duration,
    client: reqwest::Client,
}

impl HttpInvoke {
    /// Invocations at `lambda_url`, each bounded by `timeout`.
    pub fn new(lambda_url: &str, timeout: Duration) -> Self {
        // reqwest's rustls wants a provider even for plain HTTP: ring, as everywhere here.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(timeout)
            .build()
            .expect("an HTTP client");
        Self {
            lambda_url: lambda_url.trim_end_matches('/').to_owned(),
            timeout,
            client,
        }
    }

    /// The base URL invocations go to.
    pub fn lambda_url(&self) -> &str {
        &self.lambda_url
    }
}

impl Invoke for HttpInvoke {
    async fn invoke(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> Result<Vec<u8>, InvokeError> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            self.lambda_url
        );
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                InvokeError::Timeout(self.timeout)
            } else {
                InvokeError::Transport(with_sources(&e))
            }
        };
        let answer = self
            .client
            .post(&url)
            .json(event)
            .send()
            .await
            .map_err(transport)?;
        let status = answer.status();
        let function_error = answer
            .headers()
            .get("x-amz-function-error")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let body = answer.bytes().await.map_err(transport)?;
        if !status.is_success() || function_error.is_some() {
            return Err(InvokeError::Function {
                status: status.as_u16(),
                function_error,
                payload: body.to_vec(),
            });
        }
        Ok(body.to_vec())
    }
}
