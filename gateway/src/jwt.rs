//! The local JWT authorizer: checks a token as API Gateway's HTTP API JWT authorizer does,
//! against the local signing key of `.local/jwt-dev.json`.
//!
//! API Gateway's checks (its developer guide, "Control access to HTTP APIs with JWT
//! authorizers"): the token from the identity source (`Authorization`, the token alone or after
//! `Bearer `); an RSA signature by the key its `kid` names; `iss` equal to the issuer; `aud`
//! one of the audiences (or `client_id` when there is no `aud`); `exp` after now; `nbf` before
//! now. A refused token gets `401 {"message":"Unauthorized"}` and no function runs. The claims
//! of a good one reach the function as strings in `requestContext.authorizer.jwt.claims`.

use std::collections::BTreeMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::JwtContext;

/// `.local/jwt-dev.json`, as `scripts/run.sh` writes it and `replaysafe admin token` reads it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct JwtDev {
    pub issuer: String,
    pub audience: String,
    pub kid: String,
    /// The RS256 signing key, PEM (PKCS#8 `PRIVATE KEY`, or PKCS#1 `RSA PRIVATE KEY`).
    pub private_key_pem: String,
}

/// Why a token was refused. Each is the same 401 to the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No `Authorization` header, or an empty one.
    Missing,
    /// Not a JWS compact token, or its header or claims do not parse.
    Malformed,
    /// `kid` absent, or not the local key's.
    WrongKid,
    /// Not RS256, or the signature does not verify with the local key.
    BadSignature,
    WrongIssuer,
    WrongAudience,
    /// `exp` absent, or not after now.
    Expired,
    /// `nbf` after now.
    NotYetValid,
}

impl Refusal {
    /// What the gateway logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Missing => "no token in Authorization",
            Refusal::Malformed => "the token is not a well-formed JWT",
            Refusal::WrongKid => "the token's kid is not the local key's",
            Refusal::BadSignature => "the token's signature is not RS256 by the local key",
            Refusal::WrongIssuer => "the token's iss is not the local issuer",
            Refusal::WrongAudience => "the token does not have a valid audience",
            Refusal::Expired => "the token has no exp, or it has passed",
            Refusal::NotYetValid => "the token's nbf has not come yet",
        }
    }

    /// The `www-authenticate` API Gateway sends with its 401. Its documented form, with the
    /// one description AWS publishes (a wrong audience); no description for the others, whose
    /// wording is not published; none for a missing token.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Refusal::Missing => None,
            Refusal::WrongAudience => Some(
                "Bearer scope=\"\" error=\"invalid_token\" error_description=\"the token does not have a valid audience\""
                    .into(),
            ),
            _ => Some("Bearer scope=\"\" error=\"invalid_token\"".into()),
        }
    }
}

pub struct Authorizer {
    issuer: String,
    audience: String,
    kid: String,
    key: DecodingKey,
}

impl Authorizer {
    pub fn new(dev: &JwtDev) -> Result<Self, String> {
        let pem = pem::parse(dev.private_key_pem.as_bytes())
            .map_err(|e| format!("private_key_pem: {e}"))?;
        let pair = match pem.tag() {
            "PRIVATE KEY" => ring::signature::RsaKeyPair::from_pkcs8(pem.contents()),
            "RSA PRIVATE KEY" => ring::signature::RsaKeyPair::from_der(pem.contents()),
            other => {
                return Err(format!(
                    "private_key_pem: a {other}, not an RSA private key"
                ))
            }
        }
        .map_err(|e| format!("private_key_pem: not a usable RSA key ({e})"))?;
        // ring: the public key as a DER RSAPublicKey, what DecodingKey::from_rsa_der takes.
        let key = DecodingKey::from_rsa_der(pair.public().as_ref());
        for (name, value) in [
            ("issuer", &dev.issuer),
            ("audience", &dev.audience),
            ("kid", &dev.kid),
        ] {
            if value.is_empty() {
                return Err(format!("{name} is empty"));
            }
        }
        Ok(Self {
            issuer: dev.issuer.clone(),
            audience: dev.audience.clone(),
            kid: dev.kid.clone(),
            key,
        })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let dev: JwtDev =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::new(&dev).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks the `Authorization` value (every line joined by `,`, as API Gateway reads its
    /// identity source) and returns what goes to the request context.
    pub fn authorize(&self, authorization: Option<&str>) -> Result<JwtContext, Refusal> {
        let value = authorization.map(str::trim).unwrap_or_default();
        let token = match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
            None if value.eq_ignore_ascii_case("bearer") => "",
            _ => value,
        };
        if token.is_empty() {
            return Err(Refusal::Missing);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|e| refusal(e.kind()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Refusal::BadSignature);
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(Refusal::WrongKid);
        }
        let mut validation = Validation::new(Algorithm::RS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.validate_aud = false; // `aud`, or `client_id` without it: checked below
        validation.set_issuer(&[&self.issuer]);
        validation.set_required_spec_claims(&["exp", "iss"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &self.key, &validation)
            .map_err(|e| refusal(e.kind()))?
            .claims;
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&self.audience)),
            Some(_) => false,
            None => claims.get("client_id").and_then(Value::as_str) == Some(&self.audience),
        };
        if !audience_ok {
            return Err(Refusal::WrongAudience);
        }
        let scopes: Vec<String> = match (claims.get("scope"), claims.get("scp")) {
            (Some(Value::String(s)), _) | (None, Some(Value::String(s))) => {
                s.split_whitespace().map(str::to_owned).collect()
            }
            (None, Some(Value::Array(a))) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Ok(JwtContext {
            claims: claims
                .iter()
                .map(|(k, v)| (k.clone(), claim_string(v)))
                .collect::<BTreeMap<_, _>>(),
            scopes: (!scopes.is_empty()).then_some(scopes),
        })
    }
}

fn refusal(kind: &ErrorKind) -> Refusal {
    match kind {
        ErrorKind::InvalidSignature
        | ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::InvalidRsaKey(_) => Refusal::BadSignature,
        ErrorKind::ExpiredSignature => Refusal::Expired,
        ErrorKind::ImmatureSignature => Refusal::NotYetValid,
        ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
        ErrorKind::InvalidAudience => Refusal::WrongAudience,
        ErrorKind::MissingRequiredClaim(c) if c == "exp" => Refusal::Expired,
        ErrorKind::MissingRequiredClaim(c) if c == "iss" => Refusal::WrongIssuer,
        _ => Refusal::Malformed,
    }
}

/// A claim as API Gateway passes it: a string as is; a number or boolean as its JSON text; an
/// array as `[a b]` and an object as `map[k:v]` (the Go formatting API Gateway's are reported
/// in); null as the empty string.
pub fn claim_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(claim_string).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(map) => {
            let mut items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}:{}", claim_string(v)))
                .collect();
            items.sort();
            format!("map[{}]", items.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    // Two RSA keys made for these tests only (openssl genpkey, 2048-bit); they sign nothing else.
    const KEY_A: &str = include_str!("../testdata/test-key-a.pem");
    const KEY_B: &str = include_str!("../testdata/test-key-b.pem");

    fn dev() -> JwtDev {
        JwtDev {
            issuer: "https://issuer.local".into(),
            audience: "replaysafe-local".into(),
            kid: "kid-1".into(),
            private_key_pem: KEY_A.into(),
        }
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn claims() -> Value {
        json!({"sub": "user-1", "iss": "https://issuer.local", "aud": "replaysafe-local",
               "exp": now() + 300, "iat": now()})
    }

    fn token_with(key_pem: &str, kid: Option<&str>, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn token(claims: &Value) -> String {
        token_with(KEY_A, Some("kid-1"), Algorithm::RS256, claims)
    }

    fn edit(f: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut c = claims();
        f(c.as_object_mut().unwrap());
        c
    }

    fn check(authorization: Option<String>) -> Result<JwtContext, Refusal> {
        Authorizer::new(&dev())
            .unwrap()
            .authorize(authorization.as_deref())
    }

    #[test]
    fn a_good_token_passes_with_its_claims_as_strings() {
        let c = edit(|c| {
            c.insert("admin".into(), json!(true));
            c.insert("groups".into(), json!(["a", "b"]));
            c.insert("scope".into(), json!("payments read"));
        });
        let ctx = check(Some(format!("Bearer {}", token(&c)))).unwrap();
        assert_eq!(ctx.claims["sub"], "user-1");
        assert_eq!(ctx.claims["exp"], c["exp"].to_string());
        assert_eq!(ctx.claims["admin"], "true");
        assert_eq!(ctx.claims["groups"], "[a b]");
        assert_eq!(ctx.scopes, Some(vec!["payments".into(), "read".into()]));
        // The token alone works too, as in API Gateway; and `bearer` in any case.
        assert!(check(Some(token(&claims()))).is_ok());
        assert!(check(Some(format!("bearer {}", token(&claims())))).is_ok());
        // An audience in a list, or client_id when there is no aud.
        assert!(check(Some(token(&edit(|c| {
            c.insert("aud".into(), json!(["other", "replaysafe-local"]));
        }))))
        .is_ok());
        assert!(check(Some(token(&edit(|c| {
            c.remove("aud");
            c.insert("client_id".into(), json!("replaysafe-local"));
        }))))
        .is_ok());
    }

    #[test]
    fn missing_token() {
        assert_eq!(check(None), Err(Refusal::Missing));
        assert_eq!(check(Some(String::new())), Err(Refusal::Missing));
        assert_eq!(check(Some("Bearer ".into())), Err(Refusal::Missing));
        assert_eq!(Refusal::Missing.www_authenticate(), None);
    }

    #[test]
    fn malformed_token() {
        assert_eq!(check(Some("Bearer abc".into())), Err(Refusal::Malformed));
        assert_eq!(check(Some("Bearer a.b.c".into())), Err(Refusal::Malformed));
        // Two Authorization lines reach the authorizer joined, as one bad token.
        let t = token(&claims());
        assert_ne!(
            check(Some(format!("Bearer {t},Bearer {t}"))).map(|_| ()),
            Ok(())
        );
    }

    #[test]
    fn bad_signature() {
        let other_key = token_with(KEY_B, Some("kid-1"), Algorithm::RS256, &claims());
        assert_eq!(check(Some(other_key)), Err(Refusal::BadSignature));
        // The signature of another token under this one's header and claims.
        let (good, other) = (
            token(&claims()),
            token(&edit(|c| {
                c.insert("sub".into(), json!("mallory"));
            })),
        );
        let forged = format!(
            "{}.{}",
            other.rsplit_once('.').unwrap().0,
            good.rsplit_once('.').unwrap().1
        );
        assert_eq!(check(Some(forged)), Err(Refusal::BadSignature));
        let rs512 = token_with(KEY_A, Some("kid-1"), Algorithm::RS512, &claims());
        assert_eq!(check(Some(rs512)), Err(Refusal::BadSignature));
        // alg "none", no signature.
        use base64::Engine;
        let b64 =
            |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let none = format!(
            "{}.{}.",
            b64(&json!({"alg": "none", "kid": "kid-1"})),
            b64(&claims())
        );
        assert_ne!(check(Some(none)).map(|_| ()), Ok(()));
    }

    #[test]
    fn wrong_kid() {
        let t = token_with(KEY_A, Some("kid-2"), Algorithm::RS256, &claims());
        assert_eq!(check(Some(t)), Err(Refusal::WrongKid));
        let t = token_with(KEY_A, None, Algorithm::RS256, &claims());
        assert_eq!(check(Some(t)), Err(Refusal::WrongKid));
    }

    #[test]
    fn wrong_issuer() {
        let t = token(&edit(|c| {
            c.insert("iss".into(), json!("https://elsewhere"));
        }));
        assert_eq!(check(Some(t)), Err(Refusal::WrongIssuer));
        let t = token(&edit(|c| {
            c.remove("iss");
        }));
        assert_eq!(check(Some(t)), Err(Refusal::WrongIssuer));
    }

    #[test]
    fn wrong_audience() {
        for aud in [json!("other"), json!(["other"]), json!(5)] {
            let t = token(&edit(|c| {
                c.insert("aud".into(), aud.clone());
            }));
            assert_eq!(check(Some(t)), Err(Refusal::WrongAudience), "{aud}");
        }
        let t = token(&edit(|c| {
            c.remove("aud");
        }));
        assert_eq!(check(Some(t)), Err(Refusal::WrongAudience));
        assert_eq!(
            Refusal::WrongAudience.www_authenticate().unwrap(),
            "Bearer scope=\"\" error=\"invalid_token\" error_description=\"the token does not have a valid audience\""
        );
    }

    #[test]
    fn expired() {
        let t = token(&edit(|c| {
            c.insert("exp".into(), json!(now() - 5));
        }));
        assert_eq!(check(Some(t)), Err(Refusal::Expired));
        let t = token(&edit(|c| {
            c.remove("exp");
        }));
        assert_eq!(check(Some(t)), Err(Refusal::Expired));
    }

    #[test]
    fn not_yet_valid() {
        let t = token(&edit(|c| {
            c.insert("nbf".into(), json!(now() + 60));
        }));
        assert_eq!(check(Some(t)), Err(Refusal::NotYetValid));
        let t = token(&edit(|c| {
            c.insert("nbf".into(), json!(now() - 60));
        }));
        assert!(check(Some(t)).is_ok());
    }

    #[test]
    fn keys_that_are_not_rsa_private_keys_are_refused() {
        let mut d = dev();
        d.private_key_pem = "not a key".into();
        assert!(Authorizer::new(&d).is_err());
        d.private_key_pem = KEY_A.replace("PRIVATE KEY", "PUBLIC KEY");
        assert!(Authorizer::new(&d).is_err());
        let mut d = dev();
        d.kid = String::new();
        assert!(Authorizer::new(&d).is_err());
    }

    #[test]
    fn claims_become_strings() {
        assert_eq!(claim_string(&json!("x")), "x");
        assert_eq!(claim_string(&json!(1796562268)), "1796562268");
        assert_eq!(claim_string(&json!(false)), "false");
        assert_eq!(claim_string(&json!(null)), "");
        assert_eq!(claim_string(&json!(["a", 1])), "[a 1]");
        assert_eq!(claim_string(&json!({"b": 2, "a": "x"})), "map[a:x b:2]");
    }
}
