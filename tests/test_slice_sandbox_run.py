"""`make run` without BOT_TOKEN (issue 2 §6): `python -m bot` starts the emulator, the bot and the demo
data, prints how to act as a user, answers /start through the control side, and Ctrl-C stops it cleanly."""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _call(url: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["result"]


def _read_until(proc: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    """stdout up to `marker` (read from the pipe itself: no buffer hides what is there)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    seen = b""
    deadline = time.monotonic() + timeout
    while marker.encode() not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout}s; stdout so far:\n{seen.decode()}"
        if selector.select(timeout=left):
            chunk = os.read(fd, 65536)
            assert chunk, f"the bot exited ({proc.wait()}) before printing {marker!r}:\n{seen.decode()}"
            seen += chunk
    return seen.decode()


def test_sandbox_starts_answers_start_and_stops_on_ctrl_c(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL", "ADMIN_IDS"}}
    env.update(
        PYTHONPATH=str(ROOT),
        SANDBOX_PORT=str(port),
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'data' / 'sandbox.sqlite3'}",
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    # cwd is an empty directory: no .env of the repository is read.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        printed = _read_until(proc, "Ctrl-C stops everything", timeout=60)
        assert f"profbot sandbox is running: a local Bot API emulator at {url}" in printed
        assert f"--url {url} --user 1001 talk" in printed and "--user 9001 talk" in printed
        assert (tmp_path / "data" / "sandbox.sqlite3").exists()
        # The database is migrated and the command menu set once (prepare() does not run twice).
        assert _call(f"{url}/control/counters")["by_method"].get("setMyCommands") == 2
        _call(f"{url}/control/users/1001", {"first_name": "Маша", "language_code": "ru"})
        _call(f"{url}/control/users/1001/send", {"text": "/start"})
        deadline = time.monotonic() + 20
        consent = None
        while consent is None and time.monotonic() < deadline:
            chat = _call(f"{url}/control/users/1001/chat")
            consent = next((m for m in chat if m["from_bot"] and "Вы согласны" in (m["text"] or "")), None)
            time.sleep(0.2)
        assert consent is not None, "no consent screen"
        assert [b["text"] for row in consent["buttons"] for b in row] == [
            "✅ Согласен(на)",
            "Не согласен(на)",
        ]
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _out, raw_err = proc.communicate(timeout=15)
        err = raw_err.decode()
        assert proc.returncode == 0, err
        assert time.monotonic() - started < 10
        assert "Traceback" not in err, err
        # The emulator went down with the bot.
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
