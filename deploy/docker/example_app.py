"""example_app.py: the Flask app of the flask-example image (deploy/k8s/Dockerfile):
what answered, and a health endpoint for fulcrum's checks and the liveness probe."""
import os
import socket

from flask import Flask

app = Flask(__name__)
INSTANCE = os.environ.get("POD_NAME") or socket.gethostname()


@app.route("/")
def index():
    return "hello from %s\n" % INSTANCE, 200, {"Content-Type": "text/plain"}


@app.route("/healthz")
def healthz():
    return "ok\n", 200, {"Content-Type": "text/plain"}
