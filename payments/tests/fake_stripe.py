"""A local fake of the few Stripe API endpoints Turnstile uses, for the real ``stripe`` library to talk to.

POST /v1/payment_intents, GET /v1/payment_intents/<id>, POST /v1/payment_intents/<id>/cancel,
POST /v1/refunds. Honours ``Idempotency-Key`` as Stripe does: the first answer for a key, even a 500, is
replayed for every retry with that key. It can be told to fail: ``fail_with(500)`` answers new requests
with a server error, and ``lose_responses()`` does the work but drops the connection before answering (a
response lost on the way back).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding: ``metadata[booking_id]=7`` → ``{"metadata": {"booking_id": "7"}}``."""
    result: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    authorization: str | None


@dataclass
class FakeStripeState:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent_responses: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    failure_status: int | None = None
    lose_responses: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))


def _error(status: int, message: str, *, kind: str = "invalid_request_error", code: str = "") -> tuple:
    return status, {"error": {"type": kind, "message": message, "code": code}}


class _Handler(BaseHTTPRequestHandler):
    state: FakeStripeState

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        params = _nest(parse_qsl(body, keep_blank_values=True))
        key = self.headers.get("Idempotency-Key") if method == "POST" else None
        state = self.state
        with state.lock:
            state.requests.append(
                RecordedRequest(method, self.path, params, key, self.headers.get("Authorization"))
            )
            if key is not None and key in state.idempotent_responses:
                status, payload = state.idempotent_responses[key]
            elif state.failure_status is not None:
                status, payload = _error(state.failure_status, "Fake Stripe is down", kind="api_error")
            else:
                status, payload = self._route(method, params)
            if key is not None:
                # Like Stripe: the first answer for a key is replayed for every retry, errors included.
                state.idempotent_responses.setdefault(key, (status, payload))
            lose = state.lose_responses
        if lose:  # the work is done, the answer never arrives (a reset connection)
            self.close_connection = True
            return
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.send_header("Request-Id", f"req_fake_{next(state.ids)}")
        self.end_headers()
        self.wfile.write(encoded)

    def _route(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = self.path.split("?")[0].strip("/").split("/")
        state = self.state
        if method == "POST" and parts == ["v1", "payment_intents"]:
            intent_id = f"pi_fake_{next(state.ids)}"
            intent = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": int(params["amount"]),
                "amount_received": 0,
                "currency": params["currency"],
                "status": "requires_payment_method",
                "client_secret": f"{intent_id}_secret_fake",
                "metadata": params.get("metadata", {}),
                "last_payment_error": None,
                "livemode": False,
                "created": int(time.time()),
            }
            state.intents[intent_id] = intent
            return 200, intent
        if len(parts) >= 3 and parts[:2] == ["v1", "payment_intents"]:
            intent = state.intents.get(parts[2])
            if intent is None:
                return _error(404, f"No such payment_intent: '{parts[2]}'", code="resource_missing")
            if method == "GET" and len(parts) == 3:
                return 200, intent
            if method == "POST" and parts[3:] == ["cancel"]:
                intent["status"] = "canceled"
                return 200, intent
        if method == "POST" and parts == ["v1", "refunds"]:
            intent = state.intents.get(params.get("payment_intent", ""))
            if intent is None or intent["status"] != "succeeded":
                return _error(400, "This PaymentIntent has no successful charge to refund.")
            if any(refund["payment_intent"] == intent["id"] for refund in state.refunds.values()):
                return _error(400, "Charge has already been refunded.", code="charge_already_refunded")
            refund_id = f"re_fake_{next(state.ids)}"
            refund = {
                "id": refund_id,
                "object": "refund",
                "amount": int(params.get("amount") or intent["amount"]),
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "status": "succeeded",
            }
            state.refunds[refund_id] = refund
            return 200, refund
        return _error(404, f"Unrecognized request URL ({method}: {self.path})")


class FakeStripe:
    def __init__(self) -> None:
        self.state = FakeStripeState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeStripe:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- What the test tells it ---

    def fail_with(self, status: int | None) -> None:
        """Answer every request with this status (500: Stripe is down); ``None`` to recover."""
        self.state.failure_status = status

    def lose_responses(self, lose: bool = True) -> None:
        self.state.lose_responses = lose

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The fan paid (what Stripe.js and the card network do)."""
        intent = self.state.intents[intent_id]
        intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
        return dict(intent)

    def decline(self, intent_id: str) -> dict[str, Any]:
        intent = self.state.intents[intent_id]
        intent.update(
            status="requires_payment_method",
            last_payment_error={"code": "card_declined", "message": "Your card was declined."},
        )
        return dict(intent)

    # --- What the test reads ---

    def created_intents(self) -> list[dict[str, Any]]:
        return list(self.state.intents.values())

    def refunds(self) -> list[dict[str, Any]]:
        return list(self.state.refunds.values())

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.state.requests if r.method == method and r.path.split("?")[0] == path]
