"""Proves the contract run can fail: schemathesis, with the checks CI uses,
against a stub that answers `/balances` with a deliberately broken body
(money with five decimals; then a missing required field) must report a
failure. Run through `contract-tests/run --selfcheck`."""

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = json.dumps(yaml.safe_load((ROOT / "openapi" / "accounts.yaml").read_text()))

VALID = {
    "data": {
        "availableAmount": {"amount": "10.00", "currency": "BRL"},
        "blockedAmount": {"amount": "0.00", "currency": "BRL"},
        "automaticallyInvestedAmount": {"amount": "0.00", "currency": "BRL"},
        "updateDateTime": "2026-11-20T10:00:00Z",
    },
    "meta": {"totalRecords": 1, "totalPages": 1, "requestDateTime": "2026-11-20T15:00:00Z"},
}


def broken_bodies():
    five_decimals = json.loads(json.dumps(VALID))
    five_decimals["data"]["availableAmount"]["amount"] = "10.00001"
    yield "money with five decimals", five_decimals
    missing = json.loads(json.dumps(VALID))
    del missing["data"]["blockedAmount"]
    yield "a missing required field", missing


def serve(body: dict) -> ThreadingHTTPServer:
    class Stub(BaseHTTPRequestHandler):
        def _send(self, payload: str):
            data = payload.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            self._send(CONTRACT)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(json.dumps(body))

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    schemathesis = str(Path(sys.executable).parent / "schemathesis")
    for name, body in broken_bodies():
        server = serve(body)
        base = f"http://127.0.0.1:{server.server_address[1]}"
        result = subprocess.run(
            [schemathesis, "run", f"{base}/openapi/accounts.json", "--url", base,
             "--include-path", "/balances", "--checks", "response_schema_conformance",
             "--max-examples", "5", "--phases", "examples,fuzzing", "--no-color",
             "--generation-database", "none"],
            capture_output=True, text=True, timeout=300,
        )
        server.shutdown()
        caught = result.returncode != 0 and "Response violates schema" in result.stdout
        print(f"selfcheck: a broken /balances answer ({name}) {'fails' if caught else 'PASSES'} the contract run")
        if not caught:
            print(result.stdout[-3000:], result.stderr[-2000:])
            print("selfcheck: 0 passed, 1 failed")
            return 1
    print("selfcheck: 2 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
