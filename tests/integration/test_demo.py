"""`isogate demo` as a newcomer runs it: a breach shows within seconds, Ctrl-C stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from isogate.demo import demo_site
from simulators.broker import free_port

REPO = Path(__file__).resolve().parents[2]


def test_demo_shows_a_breach_within_seconds_and_stops_on_ctrl_c(tmp_path: Path):
    """The scripted night shows breach, fever, offline sensor, missed reading, a symptom and an
    announced opening; SIGINT stops."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOGATE_")}
    env |= {
        "ISOGATE_DATA_DIR": str(tmp_path),
        "ISOGATE_HTTP_PORT": str(free_port()),
        "COLUMNS": "200",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "isogate", "demo", "--speed", "120"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 40
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("ALERT") and "missed_reading" in line:
                break
        alerts = [x for x in lines if x.startswith("ALERT")]
        assert any("door_breach" in x and "p1,w1" in x for x in alerts), "".join(lines)
        assert any("fever" in x and "d1,w1" in x for x in alerts)
        assert any("device_offline" in x and "t1,w1" in x for x in alerts)
        assert any("missed_reading" in x and "d1,w1" in x for x in alerts)
        assert any("login token" in x for x in lines)
        # The resident of h02 lives alone and reported a dry cough on the pre-report page.
        assert any("symptom" in x and "d1,w1" in x and "干咳" in x for x in alerts)
        # h04 announced taking the garbage out: its opening in the window alerted nobody.
        h04 = next(h.address for h in demo_site(20).households if h.id == "h04")
        assert any("h04 开门倒垃圾" in x for x in lines)
        assert not any("door_breach" in x and h04 in x for x in alerts)
        assert any("/r/" in x for x in lines)  # the pre-report page of h01, to try on a phone
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        proc.kill()
