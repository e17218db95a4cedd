"""A local stand-in for a venue's HTTP API: the standard library's http.server in a thread
on 127.0.0.1, answering from JSON fixtures, with the failures the client must survive
(error payloads, 429 with Retry-After, slow answers, truncated bodies, dropped connections).

Each path has a queue of replies: consumed in order, the last one repeating. Requests are
recorded with the client's port, so a test can see how many connections a fetch opened.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture(venue: str, name: str) -> Any:
    return json.loads((FIXTURES / venue / name).read_text())


@dataclass
class Reply:
    payload: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    mode: str = "ok"            # ok | drop (close without answering) | truncate (cut the body)
    raw: bytes | None = None    # a body sent as is (malformed JSON)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    client_port: int


class VenueServer:
    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self, method: str) -> None:
                parsed = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.seen.append(Seen(method, parsed.path, dict(urllib.parse.parse_qsl(parsed.query)),
                                        {k.lower(): v for k, v in self.headers.items()}, body,
                                        self.client_address[1]))
                query = dict(urllib.parse.parse_qsl(parsed.query))
                # A route may name two query parameters ("/path?currency=USDC&kind=option", tried
                # first) or one ("/path?kind=option").
                items = sorted(query.items())
                keys = [f"{parsed.path}?{k1}={v1}&{k2}={v2}" for i, (k1, v1) in enumerate(items)
                        for k2, v2 in items[i + 1:]]
                keys += [f"{parsed.path}?{k}={v}" for k, v in items] + [parsed.path]
                queue = next((server.routes[k] for k in keys if k in server.routes), None)
                if not queue:
                    reply = Reply({"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}}, 400)
                else:
                    reply = queue.pop(0) if len(queue) > 1 else queue[0]
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.mode == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if reply.mode == "truncate":
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up on a slow answer: nothing to report

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def start(self) -> VenueServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, path: str, *replies: Reply) -> None:
        self.routes[path] = list(replies)

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path]


def deribit_market_routes(server: VenueServer) -> None:
    """The BTC chain fixtures (coin-settled and USDC) behind Deribit's public paths."""
    server.route("/api/v2/public/get_index_price", Reply(fixture("deribit", "get_index_price_btc.json")))
    server.route("/api/v2/public/get_book_summary_by_currency?kind=option",
                 Reply(fixture("deribit", "get_book_summary_btc_option.json")))
    server.route("/api/v2/public/get_book_summary_by_currency?kind=future",
                 Reply(fixture("deribit", "get_book_summary_btc_future.json")))
    server.route("/api/v2/public/get_book_summary_by_currency?currency=USDC&kind=option",
                 Reply(fixture("deribit", "get_book_summary_usdc_option.json")))
    server.route("/api/v2/public/get_book_summary_by_currency?currency=USDC&kind=future",
                 Reply(fixture("deribit", "get_book_summary_usdc_future.json")))
    server.route("/api/v2/public/get_instruments?currency=BTC", Reply(fixture("deribit", "get_instruments_btc.json")))
    server.route("/api/v2/public/get_instruments?currency=USDC", Reply(fixture("deribit", "get_instruments_usdc.json")))


def deribit_account_routes(server: VenueServer) -> None:
    """Auth, two accounts' positions, the instruments and the trade history (no trades since
    the time asked: a quiet account) behind Deribit's private paths."""
    server.route("/api/v2/public/auth", Reply(fixture("deribit", "auth.json")))
    server.route("/api/v2/private/get_user_trades_by_currency_and_time",
                 Reply(fixture("deribit", "get_user_trades_none.json")))
    server.route("/api/v2/private/get_subaccounts", Reply(fixture("deribit", "get_subaccounts.json")))
    server.route("/api/v2/private/get_positions", Reply(fixture("deribit", "get_positions_main.json")))
    server.route("/api/v2/private/get_positions?subaccount_id=7", Reply(fixture("deribit", "get_positions_sub.json")))
    server.route("/api/v2/public/get_instruments?currency=BTC", Reply(fixture("deribit", "get_instruments_btc.json")))
    server.route("/api/v2/public/get_instruments?currency=USDC", Reply(fixture("deribit", "get_instruments_usdc.json")))
