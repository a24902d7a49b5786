"""Command-line client for a running emulator (stdlib only, so it works from any shell).

python -m sandbox.cli --user 1001 send "/start"
python -m sandbox.cli --user 1001 press "Пойду"
python -m sandbox.cli --user 1001 chat
python -m sandbox.cli --user 1001 talk
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

__all__ = ["main", "render_message"]

DEFAULT_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8081")


class ControlError(RuntimeError):
    """The control API answered with ok=false (message is its error text)."""


def _request(url: str, method: str = "GET", body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    return _open(req)


def _open(req: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            payload = json.loads(resp.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            payload = json.loads(exc.read().decode("utf-8"))
        except ValueError:
            raise ControlError(f"HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise ControlError(f"cannot reach the emulator at {req.full_url}: {exc.reason}") from None
    if not payload.get("ok"):
        raise ControlError(str(payload.get("error") or payload.get("description")))
    return payload["result"]


def _upload(url: str, path: Path, caption: str | None, field: str = "document") -> Any:
    boundary = uuid.uuid4().hex
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{path.name}"\r\n'
        f"Content-Type: {mime}\r\n\r\n".encode(),
        path.read_bytes(),
        b"\r\n",
    ]
    if caption:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="caption"\r\n\r\n{caption}\r\n'.encode()
        )
    parts.append(f"--{boundary}--\r\n".encode())
    req = urllib.request.Request(url, data=b"".join(parts), method="POST")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    return _open(req)


def render_message(message: dict[str, Any]) -> str:
    """One chat message as text: who, content, then buttons as [ label ] rows."""
    who = "bot" if message["from_bot"] else "you"
    head = f"#{message['message_id']} {who}{' (edited)' if message.get('edited') else ''}:"
    lines = [head]
    for kind in ("document", "photo"):
        if message.get(kind):
            info = message[kind]
            lines.append(
                f"  [{kind} {info.get('file_name') or ''} {info['file_size']} bytes id={info['file_id']}]"
            )
    content = message.get("text") if message.get("text") is not None else message.get("caption")
    if content:
        lines.extend("  " + line for line in content.splitlines())
    for row in message.get("buttons", []):
        lines.append("  " + " ".join(f"[ {b['text']} ]" for b in row))
    for row in message.get("reply_keyboard", []):
        lines.append("  " + " ".join(f"( {label} )" for label in row))
    return "\n".join(lines)


def _print_chat(messages: list[dict[str, Any]]) -> None:
    if not messages:
        print("(chat is empty)")
    for message in messages:
        print(render_message(message))


def _talk(base: str, user_id: int) -> int:
    """Interactive mode: lines go to the bot, new bot messages are printed as they arrive."""
    user_url = f"{base}/control/users/{user_id}"
    seen: dict[int, int] = {}
    try:
        for message in _request(f"{user_url}/chat"):
            seen[message["message_id"]] = message.get("edit_count", 0)
    except ControlError:
        pass  # the user does not exist yet; the first line creates it
    stop = threading.Event()
    lock = threading.Lock()

    def poll() -> None:
        while not stop.is_set():
            try:
                messages = _request(f"{user_url}/chat")
            except ControlError:
                messages = []
            with lock:
                for message in messages:
                    key, edits = message["message_id"], message.get("edit_count", 0)
                    if seen.get(key) != edits:
                        seen[key] = edits
                        if message["from_bot"]:
                            print("\n" + render_message(message), flush=True)
            stop.wait(0.5)

    print(
        f"Talking to the bot as user {user_id}. Lines are sent as messages; "
        "!press <label>, !data <callback_data>, !chat, !block, !unblock; Ctrl-D exits."
    )
    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        while True:
            try:
                line = input(f"{user_id}> ")
            except EOFError:
                print()
                break
            line = line.strip()
            if not line:
                continue
            try:
                if line.startswith("!press "):
                    _request(f"{user_url}/press", "POST", {"label": line[7:].strip()})
                elif line.startswith("!data "):
                    _request(f"{user_url}/press", "POST", {"data": line[6:].strip(), "force": True})
                elif line == "!chat":
                    with lock:
                        _print_chat(_request(f"{user_url}/chat"))
                elif line in ("!block", "!unblock"):
                    _request(f"{user_url}/{line[1:]}", "POST", {})
                else:
                    sent = _request(f"{user_url}/send", "POST", {"text": line})
                    with lock:
                        seen[sent["message_id"]] = 0
            except ControlError as exc:
                print(f"error: {exc}")
            time.sleep(0.05)
    except KeyboardInterrupt:
        print()
    finally:
        stop.set()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Argument parser (exposed for `python -m sandbox`)."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.cli", description="Act as a Telegram user.")
    parser.add_argument("--url", default=DEFAULT_URL, help="emulator base URL (env SANDBOX_URL)")
    parser.add_argument("--user", type=int, default=1001, help="simulated user id")
    sub = parser.add_subparsers(dest="command", required=True)
    send = sub.add_parser("send", help="send a text message to the bot")
    send.add_argument("text")
    press = sub.add_parser("press", help="press an inline button by label")
    press.add_argument("label", nargs="?")
    press.add_argument("--data", help="press by callback data instead (forged if no button has it)")
    press.add_argument("--message-id", type=int)
    doc = sub.add_parser("document", help="send a file as a document")
    doc.add_argument("path", type=Path)
    doc.add_argument("--caption")
    photo = sub.add_parser("photo", help="send a PNG or JPEG picture as a photo")
    photo.add_argument("path", type=Path)
    photo.add_argument("--caption")
    sub.add_parser("chat", help="print the chat")
    for name in ("block", "unblock", "deactivate"):
        sub.add_parser(name, help=f"{name} the bot")
    sub.add_parser("talk", help="interactive chat")
    sub.add_parser("users", help="list simulated users")
    sub.add_parser("counters", help="print counters")
    limits = sub.add_parser("limits", help="show or change rate limits")
    for key in ("global-rate", "per-chat-rate", "per-chat-burst", "paid-rate"):
        limits.add_argument(f"--{key}", type=float)
    faults = sub.add_parser("faults", help="show, set (--method/--error-rate/...) or --clear faults")
    faults.add_argument("--clear", action="store_true")
    faults.add_argument("--method")
    for key in ("error-rate", "latency-ms", "jitter-ms", "timeout-s", "reset-rate"):
        faults.add_argument(f"--{key}", type=float)
    for key in ("error-status", "force-429", "retry-after", "seed"):
        faults.add_argument(f"--{key}", type=int)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    base = args.url.rstrip("/")
    user_url = f"{base}/control/users/{args.user}"
    try:
        if args.command == "send":
            sent = _request(f"{user_url}/send", "POST", {"text": args.text})
            print(f"sent #{sent['message_id']}")
        elif args.command == "press":
            body: dict[str, Any] = {"label": args.label}
            if args.data:
                body = {"data": args.data, "force": True}
            if args.message_id:
                body["message_id"] = args.message_id
            result = _request(f"{user_url}/press", "POST", body)
            print(f"callback query {result['callback_query_id']}")
        elif args.command == "document":
            sent = _upload(f"{user_url}/document", args.path, args.caption)
            print(f"sent #{sent['message_id']} file_id={sent['document']['file_id']}")
        elif args.command == "photo":
            sent = _upload(f"{user_url}/photo", args.path, args.caption, field="photo")
            print(f"sent #{sent['message_id']} file_id={sent['photo'][-1]['file_id']}")
        elif args.command == "chat":
            _print_chat(_request(f"{user_url}/chat"))
        elif args.command in ("block", "unblock", "deactivate"):
            print(json.dumps(_request(f"{user_url}/{args.command}", "POST", {}), ensure_ascii=False))
        elif args.command == "talk":
            return _talk(base, args.user)
        elif args.command == "users":
            for user in _request(f"{base}/control/users"):
                print(json.dumps(user, ensure_ascii=False))
        elif args.command == "counters":
            print(json.dumps(_request(f"{base}/control/counters"), ensure_ascii=False, indent=2))
        elif args.command == "limits":
            changes = {
                k: v
                for k, v in {
                    "global_rate": args.global_rate,
                    "per_chat_rate": args.per_chat_rate,
                    "per_chat_burst": None if args.per_chat_burst is None else int(args.per_chat_burst),
                    "paid_rate": args.paid_rate,
                }.items()
                if v is not None
            }
            result = _request(f"{base}/control/limits", "POST" if changes else "GET", changes or None)
            print(json.dumps(result, indent=2))
        elif args.command == "faults":
            if args.clear:
                result = _request(f"{base}/control/faults", "DELETE")
            else:
                keys = (
                    "method",
                    "error_rate",
                    "latency_ms",
                    "jitter_ms",
                    "timeout_s",
                    "reset_rate",
                    "error_status",
                    "force_429",
                    "retry_after",
                    "seed",
                )
                settings = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
                has_rule = len(settings) > ("method" in settings)
                result = _request(f"{base}/control/faults", "POST" if has_rule else "GET", settings or None)
            print(json.dumps(result, indent=2))
    except ControlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
