"""fakehttp.py: what the fake API servers of the e2e tests (fake_docker.py, fake_kube.py)
share: a request handler that answers JSON and writes chunked responses chunk by chunk,
as the real Docker and Kubernetes APIs stream their events."""
import json
import sys
from http.server import BaseHTTPRequestHandler


class JsonHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    log_prefix = "api"  # each server's log lines say which of its sockets answered

    def log_message(self, fmt, *args):
        sys.stderr.write("%s: %s\n" % (self.log_prefix, fmt % args))

    def send_json(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_chunked(self):
        """Sends a 200 head for a JSON stream of unknown length."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, data):
        """Writes one chunk at once (b"" is the last chunk, ending the stream)."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()
