"""A minimal Lambda custom-runtime loop for the peer (what a provided runtime's bootstrap does):
poll the Runtime API, call the handler (`handler.handler`, or `PEER_MODULE`'s, e.g. `payouts`),
post its result. It times the handler alone and
sends that, with the DynamoDB call intervals, in an `x-bench-timing` header the benchmark's
emulator reads (a real Runtime API ignores it). An event carrying `benchCapture` also gets
its calls' parameters and answers in there, serialised after the handler's time is taken."""

import http.client
import importlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
conn = http.client.HTTPConnection(api)
try:
    handler = importlib.import_module(os.environ.get("PEER_MODULE", "handler"))
except Exception as e:  # the Runtime API's init error, as Lambda reports it
    conn.request("POST", "/2018-06-01/runtime/init/error", json.dumps({"errorMessage": str(e)}))
    conn.getresponse().read()
    raise


class Context:
    def __init__(self, request_id, deadline_ms):
        self.aws_request_id = request_id
        self._deadline_ms = deadline_ms
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "peer")

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))


while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    r = conn.getresponse()
    event = json.loads(r.read())
    request_id = r.getheader("Lambda-Runtime-Aws-Request-Id")
    context = Context(request_id, int(r.getheader("Lambda-Runtime-Deadline-Ms")))
    handler.CALLS.clear()
    handler.REQUESTS.clear()
    started = time.perf_counter_ns()
    result = handler.handler(event, context)
    total = time.perf_counter_ns() - started
    timing = {
        "total_ns": total,
        "calls": [[a - started, b - started] for a, b in handler.CALLS],
    }
    if event.get("benchCapture"):
        timing["requests"] = [
            [op, params, {k: v for k, v in (answer or {}).items() if k != "ResponseMetadata"}]
            for op, params, answer in handler.REQUESTS
        ]
    conn.request(
        "POST",
        f"/2018-06-01/runtime/invocation/{request_id}/response",
        json.dumps(result),
        {"x-bench-timing": json.dumps(timing, default=str), "content-type": "application/json"},
    )
    conn.getresponse().read()
