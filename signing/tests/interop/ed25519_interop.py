"""Ed25519 RFC 9421 signatures checked by an implementation other than ours: the Python package
http-message-signatures (pinned in requirements.txt beside this file). Run by
signing/tests/ed25519_interop.rs; both commands read what that test wrote to a folder.

  ed25519_interop.py verify DIR
      DIR/public_key: standard base64 of a 32-byte Ed25519 public key.
      DIR/requests.json: {"key_id": ..., "requests": [REQUEST, ...]}, each REQUEST signed by our
      Rust Signer: {"method", "url", "headers": {name: value}, "body": base64,
      "components": [the components the contract requires of it]}.
      Verifies every request (signature, alg, keyid, coverage, Content-Digest of the body).
      Exit 0 when all verify, 1 (naming the first that does not) otherwise.

  ed25519_interop.py sign DIR
      DIR/private_key: standard base64 of a 32-byte Ed25519 seed.
      DIR/requests.json: {"key_id": ..., "requests": [REQUEST, ...]}, each REQUEST as above plus
      "created" and "nonce". Signs each under label sig1 with created, keyid, alg and nonce,
      covering "components" (adding Content-Digest of a non-empty body), and writes
      DIR/signed.json: one {name: value} of headers per request.
"""

import base64
import datetime
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    InvalidSignature,
    MappingKeyResolver,
    algorithms,
)


@dataclass
class Request:
    """The request interface the library reads: method, absolute URL and header fields."""

    method: str
    url: str
    headers: dict


def load(folder: Path):
    spec = json.loads((folder / "requests.json").read_text())
    requests = [
        (Request(r["method"], r["url"], dict(r["headers"])), base64.b64decode(r["body"]), r)
        for r in spec["requests"]
    ]
    return spec["key_id"], requests


def key_bytes(path: Path) -> bytes:
    raw = base64.b64decode(path.read_text().strip(), validate=True)
    if len(raw) != 32:
        sys.exit(f"{path}: {len(raw)} bytes, not 32")
    return raw


def verify(folder: Path) -> int:
    key_id, requests = load(folder)
    public_key = Ed25519PublicKey.from_public_bytes(key_bytes(folder / "public_key"))
    verifier = HTTPMessageVerifier(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={key_id: public_key}, private_keys={}),
    )
    for i, (request, body, spec) in enumerate(requests):
        try:
            # The signatures carry a fixed `created`: freshness is the server's rule, not this test's.
            (result,) = verifier.verify(
                request,
                max_age=None,
                require_components=spec["components"],
                # Empty content is only checked when a digest was sent: ours sends none then.
                body=body,
            )
        except InvalidSignature as e:
            print(f"request {i} ({request.method} {request.url}) does not verify: {e}", file=sys.stderr)
            return 1
        if result.parameters.get("alg") != "ed25519" or result.parameters.get("keyid") != key_id:
            print(f"request {i}: alg or keyid not signed as expected: {result.parameters}", file=sys.stderr)
            return 1
    return 0


def sign(folder: Path) -> int:
    key_id, requests = load(folder)
    private_key = Ed25519PrivateKey.from_private_bytes(key_bytes(folder / "private_key"))
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ED25519,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={key_id: private_key}),
    )
    signed = []
    for request, body, spec in requests:
        signer.sign(
            request,
            key_id=key_id,
            created=datetime.datetime.fromtimestamp(spec["created"], tz=datetime.timezone.utc),
            nonce=spec["nonce"],
            label="sig1",
            include_alg=True,
            covered_component_ids=spec["components"],
            # The library adds a sha-256 Content-Digest; the contract sends none for no body.
            body=body or None,
        )
        signed.append(request.headers)
    (folder / "signed.json").write_text(json.dumps(signed))
    return 0


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("verify", "sign"):
        print(__doc__, file=sys.stderr)
        return 2
    command = verify if sys.argv[1] == "verify" else sign
    return command(Path(sys.argv[2]))


if __name__ == "__main__":
    sys.exit(main())
