//! Everything a client is configured with is checked here, once, so that no request can be
//! signed for an endpoint the signature cannot protect (a query or fragment in the base, no
//! host) and no policy can forbid the first attempt.

use std::sync::Arc;
use std::time::Duration;

use super::retry_loop::{RetryEvent, RetryHook};
use super::{Client, Inner};
use crate::attempts::Ledger;
use crate::auth::Auth;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport;

pub struct ClientBuilder {
    endpoint: String,
    auth: Auth,
    /// The client a signer signs for, when it is not the signer's key id (a later key's).
    client_id: Option<String>,
    policy: RetryPolicy,
    on_retry: Option<RetryHook>,
    connect_timeout: Duration,
    /// The `tag` every signature carries, if asked.
    signature_tag: Option<String>,
    /// Whether every signature covers the endpoint's `"@authority"`.
    cover_authority: bool,
}

impl ClientBuilder {
    pub(super) fn new(endpoint: &str, auth: Auth) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            auth,
            client_id: None,
            policy: RetryPolicy::default(),
            on_retry: None,
            connect_timeout: Duration::from_secs(5),
            signature_tag: None,
            cover_authority: false,
        }
    }

    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Called before every retry (e.g. to log it).
    pub fn on_retry(mut self, hook: impl Fn(&RetryEvent) + Send + Sync + 'static) -> Self {
        self.on_retry = Some(Arc::new(hook));
        self
    }

    /// The client the signer signs for, when its key id is not the client id: what
    /// [`Client::client_id`] answers. [`Client::builder`] sets it from the credentials.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// Time to establish a connection (default 5 s), within the attempt's timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Every signature carries `tag` as its `tag` parameter: what an API deployed with
    /// `SIGNATURE_TAG` requires. A signing client's option: [`build`](Self::build) refuses it for
    /// a bearer-token client, and a tag that is not 1 to 128 printable ASCII characters.
    ///
    /// ```
    /// use replaysafe_client::{Client, Credentials};
    ///
    /// let credentials = Credentials::new("cli_7f3a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    /// let client = Client::builder("https://api.example.com", &credentials)?
    ///     .signature_tag("payments-prod")
    ///     .build()?;
    /// let request = client.prepare("GET", "/accounts/acc_alice", b"", None);
    /// assert!(request.header("signature-input").unwrap().ends_with(r#";tag="payments-prod""#));
    /// # Ok::<(), replaysafe_client::Error>(())
    /// ```
    pub fn signature_tag(mut self, tag: impl Into<String>) -> Self {
        self.signature_tag = Some(tag.into());
        self
    }

    /// Every signature covers `"@authority"`: the endpoint's host, and its port unless it is the
    /// scheme's default. An API deployed with `REQUIRE_AUTHORITY` requires it, and then a
    /// request signed for this endpoint verifies on no other. [`build`](Self::build) refuses it
    /// for a bearer-token client.
    ///
    /// ```
    /// use replaysafe_client::{Client, Credentials};
    ///
    /// let credentials = Credentials::new("cli_7f3a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    /// let client = Client::builder("https://API.example.com:443/v1", &credentials)?
    ///     .cover_authority()
    ///     .build()?;
    /// assert_eq!(client.signed_authority(), Some("api.example.com"));
    /// let request = client.prepare("GET", "/accounts/acc_alice", b"", None);
    /// assert!(request.header("signature-input").unwrap().starts_with(r#"sig1=("@method" "@authority" "@path")"#));
    /// # Ok::<(), replaysafe_client::Error>(())
    /// ```
    pub fn cover_authority(mut self) -> Self {
        self.cover_authority = true;
        self
    }

    /// Builds the client. Installs rustls' ring provider as the process default when none is
    /// installed yet (HTTPS endpoints need one; this workspace never uses aws-lc).
    pub fn build(self) -> Result<Client, Error> {
        let (origin, base_path) = split_endpoint(&self.endpoint)?;
        let client_id = match &self.auth {
            // A client's first key has the client id as its key id.
            Auth::Signature(signer) => Some(self.client_id.unwrap_or(signer.client_id.clone())),
            Auth::Bearer(_) => None,
        };
        let auth = profiled(self.auth, &origin, self.signature_tag, self.cover_authority)?;
        if self.policy.max_attempts == 0 {
            return Err(Error::InvalidInput(
                "max attempts must be at least 1".into(),
            ));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = transport::http_client(self.connect_timeout)
            .map_err(|e| Error::InvalidInput(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            inner: Arc::new(Inner {
                client_id,
                http,
                origin,
                base_path,
                auth,
                policy: self.policy,
                on_retry: self.on_retry,
                ledger: Ledger::default(),
            }),
        })
    }
}

/// `auth` with the signature options asked for: a tag, the `"@authority"` of `origin`.
fn profiled(
    auth: Auth,
    origin: &str,
    tag: Option<String>,
    cover_authority: bool,
) -> Result<Auth, Error> {
    if tag.is_none() && !cover_authority {
        return Ok(auth);
    }
    let Auth::Signature(mut signer) = auth else {
        return Err(Error::InvalidInput(
            "a signature tag or a covered authority needs a signing client, not a bearer token"
                .into(),
        ));
    };
    let invalid = |e: replaysafe_signing::SignerOptionError| Error::InvalidInput(e.to_string());
    if let Some(tag) = tag {
        signer = signer.with_tag(tag).map_err(invalid)?;
    }
    if cover_authority {
        // The origin's ASCII serialization already leaves out the scheme's default port.
        let (scheme, authority) = origin.split_once("://").unwrap_or(("https", origin));
        let authority = replaysafe_signing::normalize_authority(scheme, authority);
        signer = signer.covering_authority(&authority).map_err(invalid)?;
    }
    Ok(Auth::Signature(signer))
}

/// `http(s)://host[:port][/base]` as its origin and its base path (no trailing slash).
fn split_endpoint(endpoint: &str) -> Result<(String, String), Error> {
    let url = reqwest::Url::parse(endpoint)
        .map_err(|e| Error::InvalidInput(format!("invalid endpoint {endpoint:?}: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::InvalidInput(format!(
            "invalid endpoint {endpoint:?}: expected http(s)://host[:port][/base]"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::InvalidInput(format!(
            "invalid endpoint {endpoint:?}: no query or fragment"
        )));
    }
    let origin = url.origin().ascii_serialization();
    let base_path = url.path().trim_end_matches('/').to_owned();
    Ok((origin, base_path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;
    use crate::Client;

    fn credentials() -> Credentials {
        Credentials::new("cli_7f3a", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
    }

    fn signature_input(endpoint: &str, tune: fn(ClientBuilder) -> ClientBuilder) -> String {
        let client = tune(Client::builder(endpoint, &credentials()).unwrap())
            .build()
            .unwrap();
        let request = client.prepare_at("GET", "/accounts/a", b"", None, 1, "aaaaaaaaaaaaaaaa");
        request.header("signature-input").unwrap().to_owned()
    }

    #[test]
    fn the_signature_options_change_only_what_they_ask_for() {
        let plain = r#"sig1=("@method" "@path");created=1;nonce="aaaaaaaaaaaaaaaa";keyid="cli_7f3a";alg="hmac-sha256""#;
        assert_eq!(signature_input("https://api.example.com", |b| b), plain);
        assert_eq!(
            signature_input("https://api.example.com", |b| b.signature_tag("prod")),
            format!(r#"{plain};tag="prod""#)
        );
        let covered = plain.replace(r#""@method" "@path""#, r#""@method" "@authority" "@path""#);
        for endpoint in [
            "https://API.example.com",
            "https://api.example.com:443/base",
        ] {
            assert_eq!(signature_input(endpoint, |b| b.cover_authority()), covered);
        }
        let local = Client::builder("http://127.0.0.1:9000", &credentials())
            .unwrap()
            .cover_authority()
            .build()
            .unwrap();
        assert_eq!(local.signed_authority(), Some("127.0.0.1:9000"));
    }

    #[test]
    fn the_signature_options_need_a_signing_client_and_a_valid_tag() {
        let bearer = Client::builder_with_token("https://api.example.com", "a.b.c").unwrap();
        assert!(matches!(
            bearer.signature_tag("prod").build(),
            Err(Error::InvalidInput(_))
        ));
        let bearer = Client::builder_with_token("https://api.example.com", "a.b.c").unwrap();
        assert!(matches!(
            bearer.cover_authority().build(),
            Err(Error::InvalidInput(_))
        ));
        let empty_tag = Client::builder("https://api.example.com", &credentials())
            .unwrap()
            .signature_tag("")
            .build();
        assert!(matches!(empty_tag, Err(Error::InvalidInput(_))));
    }
}
