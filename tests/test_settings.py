"""A misconfigured `.env` stops start-up with one line naming the setting and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS"),
        ("ADMIN_IDS", "12,-100123", "ADMIN_IDS"),
        ("ADMIN_IDS", "0", "ADMIN_IDS"),
        ("TIMEZONE", "Europe/Atlantis", "TIMEZONE"),
        ("TELEGRAM_API_URL", "not a url", "TELEGRAM_API_URL"),
        ("DATABASE_URL", "mysql://root@localhost/x", "DATABASE_URL"),
        ("BOT_TOKEN", "no-colon-here", "BOT_TOKEN"),
        ("OUTBOX_RATE", "fast", "OUTBOX_RATE"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("DELIVERY_MODE", "sometimes", "DELIVERY_MODE"),
    ],
)
def test_bad_value_is_one_line_and_exit_2(tmp_path, name, value, fragment):
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "DATABASE_URL"}}
    env[name] = value
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"Configuration error: {fragment}:")
    assert "Traceback" not in proc.stderr


def test_bad_value_in_env_file_is_reported(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("ADMIN_IDS=1,2\nTIMEZONE=Moon/Base\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("ADMIN_IDS", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="TIMEZONE: unknown time zone 'Moon/Base'"):
        load_settings()


def test_defaults_and_lists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("BOT_TOKEN", "ADMIN_IDS", "TIMEZONE", "DATABASE_URL", "TELEGRAM_API_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ADMIN_IDS", "101, 202;303")
    settings = load_settings()
    assert settings.admin_ids == [101, 202, 303]
    assert settings.sandbox is True
    assert settings.timezone == "Europe/Moscow"
    assert settings.database_url.startswith("sqlite+aiosqlite:///./data/")
    assert str(settings.telegram_api_url).startswith("https://api.telegram.org")


def test_env_example_documents_every_setting():
    from bot.settings import Settings

    documented = {
        line.split("=", 1)[0].strip()
        for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    names = {field.alias for field in Settings.model_fields.values()}
    assert names <= documented, names - documented
