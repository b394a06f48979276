"""tests/harness/healthz-poller.py, the downtime figure of `make bench` (issue V, item 5), against local HTTP servers:
one that goes away for a second and comes back, one that answers 503, and a port where nothing listens."""
import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
POLLER = os.path.join(REPO, "tests", "harness", "healthz-poller.py")


class Health(http.server.BaseHTTPRequestHandler):
    status = 200
    asked = threading.Event()

    def do_GET(self):  # noqa: N802 (the name http.server calls)
        Health.asked.set()
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


class Unhealthy(Health):
    status = 503


class Server:
    def __init__(self, port=0, handler=Health):
        http.server.HTTPServer.allow_reuse_address = True
        self.httpd = http.server.HTTPServer(("127.0.0.1", port), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_outages_are_timed_per_port(tmp_path):
    flapping, sick, nothing = Server(), Server(handler=Unhealthy), free_port()
    stop = tmp_path / "stop"
    proc = subprocess.Popen([sys.executable, POLLER, "%d,%d,%d" % (flapping.port, sick.port, nothing), str(stop)],
                            stdout=subprocess.PIPE, text=True)
    # (the poller has started polling: on a busy machine its start alone can take longer than the outage)
    Health.asked.clear()
    assert Health.asked.wait(10)
    time.sleep(0.3)
    port = flapping.port
    flapping.close()
    time.sleep(1.0)
    flapping = Server(port)
    time.sleep(0.6)
    stop.touch()
    out = proc.communicate(timeout=10)[0]
    flapping.close()
    sick.close()
    docs = {doc["port"]: doc for doc in map(json.loads, out.splitlines())}
    # gone for a second, back: one outage of about that second, up at the end
    assert len(docs[port]["outages"]) == 1 and 0.8 <= docs[port]["outages"][0] <= 1.8, docs[port]
    assert docs[port]["down_at_end"] is False
    # a 503 is not an answer, and neither is a closed port: down the whole time, counted until the stop
    for p in (sick.port, nothing):
        assert docs[p]["down_at_end"] is True and len(docs[p]["outages"]) == 1 and docs[p]["outages"][0] >= 1.5, docs[p]
