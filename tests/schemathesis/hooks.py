"""Schemathesis hooks for replaysafe (loaded by scripts/schemathesis.sh via SCHEMATHESIS_HOOKS).

The credential is `Signature` (the schema's apiKey scheme), and it depends on the exact bytes
sent, which only the prepared request has. So the auth provider below marks a case with a
placeholder signature, and the transport signs exactly the requests that still carry it (RFC
9421, HMAC-SHA256, over the bytes sent, with the client that api-under-test printed, their
`Content-Digest`, when they have one, recomputed). Whatever schemathesis sends without the
placeholder goes out as it is: a request stripped of `Signature` or `Signature-Input`, a
negative case whose signature headers were generated on purpose, and the `ignored_auth`
probes (no credential, or an invalid one), which must be refused.

One more check: every error the API answers is RFC 9457 `application/problem+json`, with the
contract's `code` and `type`.
"""

import base64
import hashlib
import hmac
import os
import secrets
import time
from urllib.parse import urlsplit

import requests
import schemathesis

CLIENT_ID = os.environ["REPLAYSAFE_CLIENT_ID"]
SECRET = base64.b64decode(os.environ["REPLAYSAFE_SECRET"])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# What the auth provider puts in `Signature`: "sign this request". Never a valid signature.
TO_BE_SIGNED = "sig1=:to-be-signed-by-the-hook:"


@schemathesis.auth(refresh_interval=None, retry_on=[])
class SignedRequests:
    """The client's credential: a signature of the request, made at send time."""

    def get(self, case, ctx):
        return TO_BE_SIGNED

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Signature"] = data


def sign(prepared: requests.PreparedRequest) -> None:
    """Replaces the placeholder signature with a valid signature of this request."""
    headers = prepared.headers
    # Only what the auth provider marked; a request without `Signature-Input` (removed on
    # purpose) keeps the placeholder, which no server accepts.
    if headers.get("Signature") != TO_BE_SIGNED or "Signature-Input" not in headers:
        return
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    covered = [("@method", prepared.method), ("@path", url.path or "/")]
    if url.query:
        covered.append(("@query", "?" + url.query))
    if body and "Content-Digest" in headers:
        headers["Content-Digest"] = f"sha-256=:{_b64(hashlib.sha256(body).digest())}:"
        covered.append(("content-digest", headers["Content-Digest"]))
    key = headers.get("Idempotency-Key")
    if prepared.method.upper() == "POST" and key is not None and not any(c in key for c in "\r\n"):
        covered.append(("idempotency-key", key.strip(" \t")))
    names = " ".join(f'"{name}"' for name, _ in covered)
    nonce = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
    params = (
        f'({names});created={int(time.time())};nonce="{nonce}";keyid="{CLIENT_ID}"'
        ';alg="hmac-sha256"'
    )
    lines = [f'"{name}": {value}' for name, value in covered]
    lines.append(f'"@signature-params": {params}')
    mac = hmac.new(SECRET, "\n".join(lines).encode(), hashlib.sha256).digest()
    headers["Signature-Input"] = f"sig1={params}"
    headers["Signature"] = f"sig1=:{_b64(mac)}:"


# Signing needs the final bytes, which only the prepared request has: wrap the session's send.
_send = requests.Session.send


def _signed_send(self, request, **kwargs):
    sign(request)
    return _send(self, request, **kwargs)


requests.Session.send = _signed_send


def _header(response, name: str) -> str:
    """A response header's first value (schemathesis keeps lowercase names, list values)."""
    values = response.headers.get(name.lower()) or [""]
    return values[0]


def _from_test_server(response) -> bool:
    """The in-process server's own answers for what API Gateway itself would refuse."""
    return _header(response, "content-type").startswith("text/plain")


@schemathesis.check
def errors_are_problem_json(ctx, response, case):
    if response.status_code < 400 or _from_test_server(response):
        return None
    content_type = _header(response, "content-type")
    assert content_type == "application/problem+json", f"error with Content-Type {content_type!r}"
    problem = response.json()
    code = problem.get("code", "")
    assert problem.get("status") == response.status_code, "problem status differs from the answer's"
    assert problem.get("type") == f"https://replaysafe.dev/problems/{code}", "type is not the code's"
    if response.status_code == 503:
        assert _header(response, "retry-after"), "503 without Retry-After"
    return None


def _carriable(value) -> bool:
    """Whether HTTP/1.1 can carry this header value (RFC 9110 field-value: visible ASCII, SP,
    HTAB, obs-text). Anything else is refused by API Gateway before any function runs."""
    return all(c == "\t" or " " <= c <= "~" or "\x80" <= c <= "\xff" for c in str(value))


@schemathesis.hook
def filter_headers(ctx, headers):
    return headers is None or all(_carriable(v) for v in headers.values())



def _refused_beyond_the_schema(body) -> bool:
    """What the contract refuses and JSON Schema cannot state: a transfer whose `to` is its
    `from` (400 `validation-failed`), and an integral number written with a fraction or exponent
    (`288.0`: an integer to JSON Schema, but the contract takes amounts and balances as integer
    literals only, see openapi.yaml; 400 `validation-failed`)."""
    if not isinstance(body, dict):
        return False
    if "from" in body and body.get("from") == body.get("to"):
        return True
    return any(isinstance(v, float) and v.is_integer() for v in body.values())


@schemathesis.hook
def filter_case(ctx, case):
    """Keeps those out of the positive cases, so that `positive_data_acceptance` judges
    everything else. Negative cases are left as generated."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return True
    return not _refused_beyond_the_schema(case.body)


@schemathesis.hook
def before_add_examples(ctx, examples):
    """The same for the Examples phase (schema examples, completed with generated values), which
    `filter_case` does not see: every example is positive data."""
    examples[:] = [case for case in examples if not _refused_beyond_the_schema(case.body)]
