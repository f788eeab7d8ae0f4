"""webdriver.py: the few W3C WebDriver calls the browser tests need, over plain HTTP with
urllib (no pip packages): a session in headless Debian chromium through chromedriver,
navigation, elements by CSS selector, clicks, typing, scripts, screenshots.
Every call has a timeout; waits are bounded by the caller (wait_for)."""
import base64
import json
import time
import urllib.error
import urllib.request

ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"

# Headless, as root, on a closed network: no sandbox (root), nothing fetched from the
# internet behind the test's back (updates, sync, QUIC probes, first-run pages).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio"]


class WebDriverError(Exception):
    def __init__(self, status, error, message):
        super().__init__("%s (HTTP %s): %s" % (error, status, message))
        self.error = error


class Timeout(Exception):
    pass


def wait_for(what, fn, timeout, interval=0.2):
    """Calls fn until it returns something true (returned) or timeout seconds pass
    (Timeout with what and fn's last value or exception)."""
    end = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
            last = v
        except (WebDriverError, OSError, ValueError, KeyError) as e:
            last = e
        if time.monotonic() >= end:
            raise Timeout("%s: not within %.0f s (last: %r)" % (what, timeout, last))
        time.sleep(interval)


class Browser:
    """One WebDriver session; use as a context manager so the browser always quits."""

    def __init__(self, driver_url, profile_dir, width=1440, height=900, binary="/usr/bin/chromium"):
        self.base = driver_url.rstrip("/")
        self.sid = None
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "timeouts": {"script": 15000, "pageLoad": 30000, "implicit": 0},
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": binary,
                "args": CHROMIUM_ARGS + ["--user-data-dir=" + profile_dir,
                                         "--window-size=%d,%d" % (width, height)],
            }}}}
        v = self._call("POST", "/session", caps, timeout=90)
        self.sid = v["sessionId"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.quit()

    def _call(self, method, path, body=None, timeout=60):
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                payload = json.loads(r.read() or b"{}")
                status = r.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                payload, status = json.loads(raw), e.code
            except ValueError:
                raise WebDriverError(e.code, "http", raw[:300].decode("latin-1")) from None
        v = payload.get("value")
        if status >= 400 or (isinstance(v, dict) and "error" in v and v.get("error")):
            v = v if isinstance(v, dict) else {}
            raise WebDriverError(status, v.get("error", "unknown"), (v.get("message") or "")[:500])
        return v

    def _s(self, path):
        return "/session/%s%s" % (self.sid, path)

    def quit(self):
        if self.sid:
            sid, self.sid = self.sid, None
            try:
                self._call("DELETE", "/session/" + sid, timeout=30)
            except (WebDriverError, OSError):
                pass

    def get(self, url):
        self._call("POST", self._s("/url"), {"url": url})

    def find(self, css):
        """The first element matching css (WebDriverError "no such element" if none)."""
        v = self._call("POST", self._s("/element"), {"using": "css selector", "value": css})
        return v[ELEMENT_KEY]

    def find_all(self, css):
        v = self._call("POST", self._s("/elements"), {"using": "css selector", "value": css})
        return [e[ELEMENT_KEY] for e in v]

    def click(self, css):
        self._call("POST", self._s("/element/%s/click" % self.find(css)))

    def clear(self, css):
        self._call("POST", self._s("/element/%s/clear" % self.find(css)))

    def type(self, css, text):
        self._call("POST", self._s("/element/%s/value" % self.find(css)), {"text": text})

    def text(self, css):
        return self._call("GET", self._s("/element/%s/text" % self.find(css)))

    def js(self, script, *args):
        """Runs script (a function body: use return) with args as arguments[]."""
        return self._call("POST", self._s("/execute/sync"), {"script": script, "args": list(args)})

    def set_size(self, width, height):
        self._call("POST", self._s("/window/rect"), {"width": width, "height": height})

    def screenshot(self):
        return base64.b64decode(self._call("GET", self._s("/screenshot")))

    def console(self):
        """The browser's console messages since the last call (chromedriver's log API);
        [] when this chromedriver does not offer it."""
        try:
            return self._call("POST", self._s("/se/log"), {"type": "browser"})
        except WebDriverError:
            return []
