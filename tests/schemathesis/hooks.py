"""Schemathesis hooks for replaysafe (loaded by scripts/schemathesis.sh via SCHEMATHESIS_HOOKS).

Every request that carries `Signature` and `Signature-Input` is signed as a real client signs
it (RFC 9421, HMAC-SHA256, over the exact bytes sent), with the client that api-under-test
printed, its `Content-Digest` (when it has one) recomputed. Requests without one of them (the
auth and missing-header checks remove them) go out as generated.

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


def sign(prepared: requests.PreparedRequest) -> None:
    """Replaces any generated signature headers with a valid signature of this request."""
    headers = prepared.headers
    # A request schemathesis stripped of a credential on purpose goes out as it is.
    if "Signature" not in headers or "Signature-Input" not in headers:
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
