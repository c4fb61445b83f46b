"""The payouts peer: an SQS consumer of payout messages as a team writes it today with
Powertools for AWS Lambda (Python): `BatchProcessor(event_type=EventType.SQS)` and
`process_partial_response`, each record handled by an `@idempotent_function` keyed by the
payout's owner and id.

It does what `payments::consume_payouts` does, on the same tables: the same validation (every
field of the message and no other, an integer amount, the same id, currency and reference
rules; an invalid message is reported for redelivery), then ONE TransactWriteItems with the
same items in the same order: the credit, the balance-conditioned debit, the transfer record
and the payout record. Powertools writes its INPROGRESS record before it and the result after
it (in a table of its own, `<prefix>powertools-payouts`). A refusal of the debit or credit
(missing account, other currency, insufficient funds) is, as in replaysafe, the payout's final
result: the refused payout is recorded and returned, so Powertools stores it.

The DynamoDB client, and the call log the benchmark reads, are the HTTP peer's (`handler.py`):
the bootstrap loop runs this module with `PEER_MODULE=payouts`.
"""

import json
import re
import time
import uuid

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from handler import CALLS, PREFIX, REQUESTS, dynamodb, n, s  # noqa: F401 (the loop reads CALLS, REQUESTS)

# A payout may come back as long as the queue keeps it: its key outlives the retention (the
# Rust side is built for a queue keeping messages a day).
RETENTION_SECONDS = 86_400

persistence = DynamoDBPersistenceLayer(
    table_name=PREFIX + "powertools-payouts", boto3_client=dynamodb
)
config = IdempotencyConfig(
    event_key_jmespath="[owner, payout_id]",
    # The same payout id with another body is a conflict, not a replay.
    payload_validation_jmespath="[from, to, amount, currency, reference]",
    expires_after_seconds=RETENTION_SECONDS,
)
processor = BatchProcessor(event_type=EventType.SQS)

ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CLIENT_ID = re.compile(r"^cli_[A-Za-z0-9_-]{1,60}$")
FIELDS = {"payout_id", "owner", "from", "to", "amount", "currency", "reference"}
MAX_AMOUNT = 10**12
MAX_REFERENCE_CHARS = 140


class Invalid(Exception):
    """A message that is not a payout: reported for redelivery, as replaysafe does."""


def parse(body):
    """The payout message, checked as `NewPayout::parse` checks it."""
    try:
        p = json.loads(body)
    except ValueError:
        raise Invalid("not JSON")
    if not isinstance(p, dict):
        raise Invalid("not an object")
    if not FIELDS - {"reference"} <= p.keys() <= FIELDS:
        raise Invalid("missing or unknown fields")
    for field in FIELDS - {"amount", "reference"}:
        if not isinstance(p[field], str):
            raise Invalid(field)
    amount = p["amount"]
    # An integer: not a float (1.0 included), not a boolean.
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT:
        raise Invalid("amount")
    for field in ("payout_id", "from", "to"):
        if not ID.match(p[field]):
            raise Invalid(field)
    if p["from"] == p["to"]:
        raise Invalid("from and to must be different accounts")
    if not re.fullmatch(r"[A-Z]{3}", p["currency"]):
        raise Invalid("currency")
    reference = p.get("reference")
    if reference is not None and (
        not isinstance(reference, str) or len(reference) > MAX_REFERENCE_CHARS
    ):
        raise Invalid("reference")
    # The bench's owners are signing clients (replaysafe also takes `sub:` principals).
    if not CLIENT_ID.match(p["owner"]):
        raise Invalid("owner")
    p.setdefault("reference", None)
    return p


def payout_item(p, now, status, extra):
    item = {
        "payout_key": s(f"{p['owner']}#{p['payout_id']}"), "payout_id": s(p["payout_id"]),
        "owner": s(p["owner"]), "from": s(p["from"]), "to": s(p["to"]),
        "amount": n(p["amount"]), "currency": s(p["currency"]), "completed_at": n(now),
        "status": s(status), **extra,
    }
    if p["reference"] is not None:
        item["reference"] = s(p["reference"])
    return item


def refusal(reasons, owner, currency):
    """The code of a cancelled transaction's refusal (replaysafe's order: the credit's, then
    the debit's), or None when it is not one."""
    credit, debit = (reasons + [{}, {}])[:2]
    for reason, checks_owner in ((credit, False), (debit, True)):
        if reason.get("Code") != "ConditionalCheckFailed":
            continue
        old = reason.get("Item")
        if not old or (checks_owner and old["owner"]["S"] != owner):
            return "not-found"
        if old["currency"]["S"] != currency:
            return "currency-mismatch"
        return "insufficient-funds"
    return None


@idempotent_function(
    data_keyword_argument="payout", persistence_store=persistence, config=config
)
def settle(payout):
    now = int(time.time())
    transfer_id = "tr_" + uuid.uuid4().hex
    balance = "SET #balance = #balance {} :amount, #version = #version + :one, updated_at = :now"
    names = {"#balance": "balance", "#version": "version", "#currency": "currency"}
    common = {
        ":amount": n(payout["amount"]), ":one": n(1), ":now": n(now),
        ":currency": s(payout["currency"]),
    }
    transfer = {
        "transfer_id": s(transfer_id), "owner": s(payout["owner"]),
        "from": s(payout["from"]), "to": s(payout["to"]), "amount": n(payout["amount"]),
        "currency": s(payout["currency"]), "created_at": n(now),
    }
    if payout["reference"] is not None:
        transfer["reference"] = s(payout["reference"])
    # The same items in the same order as replaysafe's: credit, debit, transfer, payout.
    items = [
        {"Update": {
            "TableName": PREFIX + "accounts",
            "Key": {"account_id": s(payout["to"])},
            "UpdateExpression": balance.format("+"),
            "ConditionExpression": "attribute_exists(account_id) AND #currency = :currency",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": common,
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Update": {
            "TableName": PREFIX + "accounts",
            "Key": {"account_id": s(payout["from"])},
            "UpdateExpression": balance.format("-"),
            "ConditionExpression": "attribute_exists(account_id) AND #owner = :caller "
            "AND #currency = :currency AND #balance >= :amount",
            "ExpressionAttributeNames": {**names, "#owner": "owner"},
            "ExpressionAttributeValues": {**common, ":caller": s(payout["owner"])},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Put": {
            "TableName": PREFIX + "transfers",
            "Item": transfer,
            "ConditionExpression": "attribute_not_exists(transfer_id)",
        }},
        {"Put": {
            "TableName": PREFIX + "payouts",
            "Item": payout_item(payout, now, "paid", {"transfer_id": s(transfer_id)}),
        }},
    ]
    try:
        dynamodb.transact_write_items(TransactItems=items)
    except dynamodb.exceptions.TransactionCanceledException as e:
        reasons = e.response.get("CancellationReasons", [])
        code = refusal(reasons, payout["owner"], payout["currency"])
        if code is None:
            raise  # transient: Powertools deletes its record, the message comes back
        dynamodb.put_item(
            TableName=PREFIX + "payouts",
            Item=payout_item(payout, now, "refused", {"code": s(code)}),
        )
        return {"payout_id": payout["payout_id"], "status": "refused", "code": code}
    return {
        "payout_id": payout["payout_id"], "status": "paid", "transfer_id": transfer_id,
        "from": payout["from"], "to": payout["to"], "amount": payout["amount"],
        "currency": payout["currency"], "reference": payout["reference"],
        "completed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


def record_handler(record: SQSRecord):
    return settle(payout=parse(record.body))


def handler(event, context):
    config.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
