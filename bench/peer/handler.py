"""The peer: POST /transfers and GET /accounts/{id} as a team writes them today with
Powertools for AWS Lambda (Python) idempotency on DynamoDB.

Same contract checks as replaysafe, so the two do the same work: an RFC 9421 HMAC signature
over the same components (client secrets cached in the warm process), the RFC 9530 digest,
freshness, then (PEER_NONCE=1) the nonce put that refuses a captured request replayed. The
transfer is ONE TransactWriteItems (debit, credit, transfer record) inside an
`@idempotent_function`: Powertools writes its INPROGRESS record before it and the result
after it; a refusal raises, so Powertools deletes the record and the refusal is not stored.

Every DynamoDB call goes through one boto3 client (Powertools' included), whose call
intervals `CALLS` records for the benchmark, and `REQUESTS` each call's operation, parameters
and parsed answer (kept by reference; the loop serialises them only when the benchmark asks,
to compute the capacity they consume).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import time
import uuid

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

PREFIX = os.environ.get("TABLE_PREFIX", "replaysafe-")
NONCE = os.environ.get("PEER_NONCE", "1") == "1"
WINDOW = int(os.environ.get("REPLAY_WINDOW_SECONDS", "300"))

dynamodb = boto3.client("dynamodb")

# (start, end) perf_counter_ns of each DynamoDB call of the current invocation.
CALLS = []
# [operation, params, parsed answer] of each DynamoDB call of the current invocation.
REQUESTS = []
_started = []


def _before(params=None, model=None, **_):
    _started.append(time.perf_counter_ns())
    REQUESTS.append([getattr(model, "name", "?"), params, None])


def _after(parsed=None, **_):
    if _started:
        CALLS.append((_started.pop(), time.perf_counter_ns()))
    if REQUESTS and REQUESTS[-1][2] is None:
        REQUESTS[-1][2] = parsed or {}


dynamodb.meta.events.register("before-parameter-build.dynamodb", _before)
dynamodb.meta.events.register("after-call.dynamodb", _after)
dynamodb.meta.events.register("after-call-error.dynamodb", _after)

persistence = DynamoDBPersistenceLayer(
    table_name=PREFIX + "powertools", boto3_client=dynamodb
)
config = IdempotencyConfig(
    event_key_jmespath="[client, key]",
    payload_validation_jmespath="[method, path, body]",
    expires_after_seconds=86_400,
)


class Refused(Exception):
    def __init__(self, status, code):
        super().__init__(code)
        self.status, self.code = status, code


def problem(status, code):
    body = {"type": "about:blank", "status": status, "code": code}
    return response(status, body, "application/problem+json")


def response(status, body, content_type="application/json"):
    return {
        "statusCode": status,
        "headers": {"content-type": content_type},
        "body": json.dumps(body),
    }


_secrets = {}


def secret_of(client_id):
    if client_id not in _secrets:
        item = dynamodb.get_item(
            TableName=PREFIX + "clients", Key={"client_id": {"S": client_id}}
        ).get("Item")
        if not item or item.get("status", {}).get("S") != "active":
            raise Refused(401, "unknown_key")
        _secrets[client_id] = base64.b64decode(item["secret"]["S"])
    return _secrets[client_id]


PARAMS = re.compile(r'^sig1=(\(([^)]*)\);created=(\d+);nonce="([^"]+)";keyid="([^"]+)";alg="hmac-sha256")$')


def verify(event, method, path, headers, body):
    """The contract's checks 1 to 5; returns (client_id, nonce)."""
    if method == "POST" and not headers.get("idempotency-key"):
        raise Refused(400, "idempotency_key_missing")
    m = PARAMS.match(headers.get("signature-input", ""))
    sig = headers.get("signature", "")
    if not m or not sig.startswith("sig1=:") or not sig.endswith(":"):
        raise Refused(401, "signature_missing")
    params, components, created, nonce, keyid = m.groups()
    names = [c.strip('"') for c in components.split()]
    required = ["@method", "@path"] + (["content-digest"] if body else [])
    required += ["idempotency-key"] if method == "POST" else []
    if any(r not in names for r in required):
        raise Refused(401, "signature_invalid")
    values = {"@method": method, "@path": path}
    lines = []
    for name in names:
        value = values.get(name, headers.get(name))
        if value is None:
            raise Refused(401, "signature_invalid")
        lines.append(f'"{name}": {value}')
    lines.append(f'"@signature-params": {params}')
    expected = hmac.new(secret_of(keyid), "\n".join(lines).encode(), hashlib.sha256)
    if not hmac.compare_digest(expected.digest(), base64.b64decode(sig[6:-1])):
        raise Refused(401, "signature_invalid")
    if body:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        if headers.get("content-digest") != f"sha-256=:{digest}:":
            raise Refused(400, "digest_mismatch")
    if abs(time.time() - int(created)) > WINDOW:
        raise Refused(401, "stale_request")
    return keyid, nonce


def consume_nonce(client_id, nonce, request_id, now):
    try:
        dynamodb.put_item(
            TableName=PREFIX + "nonces",
            Item={
                "pk": {"S": f"{client_id}#{nonce}"},
                "request_id": {"S": request_id},
                "expires_at": {"N": str(now + WINDOW + 60)},
            },
            ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
            ExpressionAttributeValues={":now": {"N": str(now)}},
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        raise Refused(409, "nonce_reused")


def n(v):
    return {"N": str(v)}


def s(v):
    return {"S": v}


@idempotent_function(
    data_keyword_argument="request", persistence_store=persistence, config=config
)
def transfer(request):
    t = json.loads(request["body"])
    now = int(time.time())
    transfer_id = "tr_" + uuid.uuid4().hex
    balance = "SET #balance = #balance {} :amount, #version = #version + :one, updated_at = :now"
    names = {"#balance": "balance", "#version": "version", "#currency": "currency"}
    common = {":amount": n(t["amount"]), ":one": n(1), ":now": n(now), ":currency": s(t["currency"])}
    items = [
        {"Update": {
            "TableName": PREFIX + "accounts",
            "Key": {"account_id": s(t["from"])},
            "UpdateExpression": balance.format("-"),
            "ConditionExpression": "attribute_exists(account_id) AND #owner = :caller "
            "AND #currency = :currency AND #balance >= :amount",
            "ExpressionAttributeNames": {**names, "#owner": "owner"},
            "ExpressionAttributeValues": {**common, ":caller": s(request["client"])},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Update": {
            "TableName": PREFIX + "accounts",
            "Key": {"account_id": s(t["to"])},
            "UpdateExpression": balance.format("+"),
            "ConditionExpression": "attribute_exists(account_id) AND #currency = :currency",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": common,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Put": {
            "TableName": PREFIX + "transfers",
            "Item": {
                "transfer_id": s(transfer_id), "owner": s(request["client"]),
                "from": s(t["from"]), "to": s(t["to"]), "amount": n(t["amount"]),
                "currency": s(t["currency"]), "created_at": n(now),
            },
            "ConditionExpression": "attribute_not_exists(transfer_id)",
        }},
    ]
    try:
        dynamodb.transact_write_items(TransactItems=items)
    except dynamodb.exceptions.TransactionCanceledException as e:
        reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
        if reasons and reasons[0] == "ConditionalCheckFailed":
            raise Refused(409, "insufficient_funds")
        raise
    return {
        "transfer_id": transfer_id, "from": t["from"], "to": t["to"], "amount": t["amount"],
        "currency": t["currency"], "reference": t.get("reference"),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"]
    headers = event.get("headers") or {}
    body = event.get("body") or ""
    config.register_lambda_context(context)
    try:
        client_id, nonce = verify(event, method, path, headers, body)
        if NONCE:
            consume_nonce(client_id, nonce, context.aws_request_id, int(time.time()))
        if method == "POST" and path == "/transfers":
            request = {
                "client": client_id, "key": headers["idempotency-key"],
                "method": method, "path": path, "body": body,
            }
            return response(201, transfer(request=request))
        if method == "GET" and path.startswith("/accounts/"):
            item = dynamodb.get_item(
                TableName=PREFIX + "accounts",
                Key={"account_id": s(path.rsplit("/", 1)[1])},
                ConsistentRead=True,
            ).get("Item")
            if not item or item["owner"]["S"] != client_id:
                raise Refused(404, "not_found")
            return response(200, {
                "account_id": item["account_id"]["S"], "currency": item["currency"]["S"],
                "balance": int(item["balance"]["N"]), "version": int(item["version"]["N"]),
            })
        raise Refused(404, "not_found")
    except Refused as e:
        return problem(e.status, e.code)
