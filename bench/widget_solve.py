"""How long the vendored ALTCHA widget takes to solve a join challenge in headless Chromium.

    python bench/widget_solve.py 20000 10     # difficulty, runs (needs `make browser-deps`)

Serves the widget from a temporary directory on a free port, gives it challenges issued by
``queueing.challenges`` (no database or Redis: the event is not saved, the spike count is not read
because ``challenge_issue`` is called with a stand-in ``joins_per_minute``), times ``verify()`` and
checks that the server's check accepts every payload. Solving is the fan's cost, not the server's.
"""

import functools
import http.server
import os
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings_test")
import django  # noqa: E402

django.setup()
from playwright.sync_api import sync_playwright  # noqa: E402

from events.models import Event  # noqa: E402
from queueing import challenges  # noqa: E402

challenges.joins_per_minute = lambda **_kwargs: 0  # no Redis needed: no spike
difficulty, runs = int(sys.argv[1]), int(sys.argv[2])
root = tempfile.mkdtemp(prefix="altcha-timing-")
shutil.copy(ROOT / "static/vendor/altcha/altcha-3.2.2.min.js", root + "/altcha.js")
Path(root, "index.html").write_text(
    '<!doctype html><html lang="en"><body><form><script type="module" src="altcha.js"></script>'
    '<div id="w"></div></form></body></html>'
)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(_Quiet, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
event = Event(pk=1, queue_challenge_difficulty=difficulty)
times = []
with sync_playwright() as p:
    browser = p.chromium.launch(
        executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True
    )
    page = browser.new_page()
    page.goto(f"http://127.0.0.1:{server.server_port}/index.html")
    page.wait_for_function("customElements.get('altcha-widget') !== undefined")
    for _run in range(runs):
        challenge = challenges.challenge_issue(user_id=5, event=event).challenge
        result = page.evaluate(
            """async (challenge) => {
            const box = document.getElementById('w'); box.innerHTML = '';
            const w = document.createElement('altcha-widget');
            w.setAttribute('challenge', JSON.stringify(challenge)); w.setAttribute('name', 'altcha');
            w.setAttribute('display', 'invisible');
            box.appendChild(w);
            await new Promise(r => setTimeout(r, 50));
            w.configure({minDuration: 0});
            const t0 = performance.now();
            const state = await new Promise((resolve) => {
              w.addEventListener('statechange', (e) => {
                if (['verified', 'error'].includes(e.detail.state)) resolve(e.detail);
              });
              w.verify();
            });
            return {ms: performance.now() - t0, state: state.state, payload: state.payload || null};
        }""",
            challenge,
        )
        assert result["state"] == "verified", result
        challenges._checked_nonce(user_id=5, event=event, payload=result["payload"])  # the server accepts it
        times.append(result["ms"])
    browser.close()
server.shutdown()
shutil.rmtree(root, ignore_errors=True)
print(
    f"difficulty {difficulty}: {runs} solves in the browser, median {statistics.median(times):.0f} ms, "
    f"min {min(times):.0f}, max {max(times):.0f} ms; every payload accepted by the server check"
)
