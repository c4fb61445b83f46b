//! A call: a request as a client builds and signs it, editable part by part, re-signed or
//! replayed as is, and handed to a handler as API Gateway would (its Lambda context, a JWT
//! authorizer's claims, the domain it arrived on). Also the hand-made signatures the library's
//! signer refuses to make (other components, a digest that is not the body's).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use lambda_http::{Body, Context, Request, RequestExt};
use replaysafe_signing::{
    hmac_sha256, parse_signature, random_nonce, signature_base, Message, Signer,
};

/// A request as a client sends it: its parts can be edited and re-signed, or replayed as is.
#[derive(Clone)]
pub struct Call {
    pub method: String,
    /// Path with any query string.
    pub path: String,
    pub body: Vec<u8>,
    pub idempotency_key: Option<String>,
    pub created: i64,
    pub nonce: String,
    pub signer: SignerBox,
    /// Headers as sent: the signature's and any extra.
    pub headers: Vec<(String, String)>,
    /// The `sub` API Gateway's JWT authorizer vouched for (in the request context), if any:
    /// what an authorizer-mode guard reads instead of the signature.
    pub authorized_as: Option<String>,
    /// The Lambda request id it arrives under; the same id means the same invocation.
    pub request_id: String,
    /// The host API Gateway received it on (`requestContext.domainName`), if any: the host
    /// a guard verifies `"@authority"` against.
    pub domain_name: Option<String>,
}

/// `Signer` is not `Clone` (it holds a secret); tests need to re-sign copies.
pub struct SignerBox(pub(crate) Signer);

impl Clone for SignerBox {
    fn clone(&self) -> Self {
        let mut signer = Signer::new(self.0.client_id.clone(), self.0.secret.clone());
        if let Some(tag) = self.0.tag() {
            signer = signer.with_tag(tag).expect("a tag the signer held");
        }
        if let Some(authority) = self.0.authority() {
            signer = signer
                .covering_authority(authority)
                .expect("an authority the signer held");
        }
        Self(signer)
    }
}

impl From<Signer> for SignerBox {
    fn from(s: Signer) -> Self {
        Self(s)
    }
}

impl Call {
    /// A request from `signer` created at `created`, with a fresh nonce and, for a POST, a
    /// fresh idempotency key, signed. Adjust and re-sign, or send as is.
    pub fn new(signer: Signer, method: &str, path: &str, body: &str, created: i64) -> Self {
        let key = (method == "POST").then(|| uuid::Uuid::new_v4().to_string());
        Call {
            method: method.to_owned(),
            path: path.to_owned(),
            body: body.as_bytes().to_vec(),
            idempotency_key: key,
            created,
            nonce: random_nonce(),
            signer: SignerBox(signer),
            headers: Vec::new(),
            authorized_as: None,
            request_id: uuid::Uuid::new_v4().to_string(),
            domain_name: None,
        }
        .sign()
    }

    /// Signs (again) from the current parts, with a new nonce unless one was set by hand
    /// after the last signing.
    pub fn sign(mut self) -> Self {
        let signed = self.signer.0.sign(
            &self.method,
            &self.path,
            &self.body,
            self.idempotency_key.as_deref(),
            self.created,
            &self.nonce,
        );
        self.set_signature(
            signed.content_digest,
            signed.signature_input,
            signed.signature,
        );
        self
    }

    /// Replaces the signature's headers (and the digest it covers) with these.
    fn set_signature(&mut self, content_digest: Option<String>, input: String, signature: String) {
        self.headers.retain(|(n, _)| {
            !matches!(
                n.as_str(),
                "signature" | "signature-input" | "content-digest"
            )
        });
        if let Some(d) = content_digest {
            self.headers.push(("content-digest".into(), d));
        }
        self.headers.push(("signature-input".into(), input));
        self.headers.push(("signature".into(), signature));
    }

    /// The same logical request as a retrying client sends it: same key and body, new nonce,
    /// new `created`, new invocation.
    pub fn resigned(&self, created: i64) -> Self {
        let mut next = self.clone();
        next.created = created;
        next.nonce = random_nonce();
        next.request_id = uuid::Uuid::new_v4().to_string();
        next.sign()
    }

    /// The exact bytes again, as an attacker who captured them would send them.
    pub fn replayed(&self) -> Self {
        let mut next = self.clone();
        next.request_id = uuid::Uuid::new_v4().to_string();
        next
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn without_header(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    pub fn request(&self) -> Request {
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(self.path.as_str());
        if let Some(key) = &self.idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if !self.body.is_empty() {
            builder = builder.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let body = if self.body.is_empty() {
            Body::Empty
        } else {
            Body::Binary(self.body.clone())
        };
        let mut context = Context::default();
        context.request_id = self.request_id.clone();
        let request = builder
            .body(body)
            .expect("valid request")
            .with_lambda_context(context);
        let context = self
            .authorized_as
            .as_deref()
            .map(replaysafe::testing::jwt_context);
        let context = match (context, &self.domain_name) {
            (context, None) => context,
            (context, Some(domain)) => {
                let mut ctx = match context {
                    Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx,
                    _ => Default::default(),
                };
                ctx.domain_name = Some(domain.clone());
                Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx))
            }
        };
        match context {
            None => request,
            Some(context) => request.with_request_context(context),
        }
    }

    /// The same call, as API Gateway hands it on when received on `domain`
    /// (`requestContext.domainName`): not re-signed, so a call signed for one deployment can
    /// be delivered to another.
    pub fn on_domain(mut self, domain: &str) -> Self {
        self.domain_name = Some(domain.to_owned());
        self
    }

    /// The same call, as API Gateway hands it on after its JWT authorizer accepted a token
    /// for `sub` (`None`: no authorizer context at all).
    pub fn authorized_as(mut self, sub: Option<&str>) -> Self {
        self.authorized_as = sub.map(str::to_owned);
        self
    }

    /// Signs by hand, covering exactly `components` in that order (a client that covers less, or
    /// more, than the library's signer), with `extra_params` (e.g. `;expires=123`) appended after
    /// `created`, `nonce`, `keyid` and `alg`. Headers a component names are read from the call.
    pub fn sign_covering(mut self, components: &[&str], extra_params: &str) -> Self {
        let (path, query) = match self.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (self.path.clone(), None),
        };
        let digest =
            (!self.body.is_empty()).then(|| replaysafe_signing::content_digest(&self.body));
        let listed: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
        let params = format!(
            r#"({});created={};nonce="{}";keyid="{}";alg="hmac-sha256"{extra_params}"#,
            listed.join(" "),
            self.created,
            self.nonce,
            self.signer.0.client_id,
        );
        let mut base = String::new();
        for c in components {
            let value = match *c {
                "@method" => self.method.clone(),
                "@path" => path.clone(),
                "@query" => format!("?{}", query.clone().unwrap_or_default()),
                // The host it is delivered to: API Gateway's domain name, else its Host header.
                "@authority" => self
                    .domain_name
                    .clone()
                    .or_else(|| {
                        let host = self.headers.iter().find(|(n, _)| n == "host");
                        host.map(|(_, v)| v.clone())
                    })
                    .expect("a domain name or Host header to cover")
                    .to_ascii_lowercase(),
                "content-digest" => digest.clone().expect("a body to digest"),
                "idempotency-key" => self.idempotency_key.clone().expect("an idempotency key"),
                other => self
                    .headers
                    .iter()
                    .find(|(n, _)| n == other)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("no {other} header to cover")),
            };
            base.push_str(&format!("\"{c}\": {value}\n"));
        }
        base.push_str(&format!("\"@signature-params\": {params}"));
        let mac = STANDARD.encode(hmac_sha256(&self.signer.0.secret, &base));
        self.set_signature(digest, format!("sig1={params}"), format!("sig1=:{mac}:"));
        self
    }

    /// Rewrites one header's value as a man in the middle would, without re-signing.
    pub fn edit_header(mut self, name: &str, edit: impl Fn(&str) -> String) -> Self {
        for (n, v) in &mut self.headers {
            if n == name {
                *v = edit(v);
            }
        }
        self
    }

    /// Signs as `sign` does, but with `content_digest` as the (covered) Content-Digest header
    /// instead of the body's own digest: for requests whose signature is right but whose
    /// digest is not.
    pub fn sign_with_digest(mut self, content_digest: &str) -> Self {
        let (path, query) = match self.path.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (self.path.clone(), None),
        };
        let mut components = vec![r#""@method""#, r#""@path""#];
        if query.as_deref().is_some_and(|q| !q.is_empty()) {
            components.push(r#""@query""#);
        }
        components.push(r#""content-digest""#);
        if self.idempotency_key.is_some() {
            components.push(r#""idempotency-key""#);
        }
        let input_header = format!(
            r#"sig1=({});created={};nonce="{}";keyid="{}";alg="hmac-sha256""#,
            components.join(" "),
            self.created,
            self.nonce,
            self.signer.0.client_id,
        );
        let (input, _) = parse_signature(&input_header, "sig1=:AAAA:").expect("valid input");
        let key = self.idempotency_key.clone();
        let header = |name: &str| -> Vec<String> {
            match name {
                "content-digest" => vec![content_digest.to_owned()],
                "idempotency-key" => key.iter().cloned().collect(),
                _ => vec![],
            }
        };
        let base = signature_base(
            &input,
            &Message {
                method: &self.method,
                path: &path,
                query: query.as_deref(),
                authority: None,
                header: &header,
            },
            true,
        )
        .expect("signature base");
        let mac = hmac_sha256(&self.signer.0.secret, &base);
        self.set_signature(
            Some(content_digest.to_owned()),
            input_header,
            format!("sig1=:{}:", STANDARD.encode(mac)),
        );
        self
    }

    /// The value of a header as sent (the first one of that name).
    pub fn sent_header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
