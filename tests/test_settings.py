"""The environment switches of xinyidai.settings, each checked in a fresh interpreter.

Settings are read once per process, so every case runs `django.setup()` in a subprocess with a
controlled environment: ours minus everything the settings module reads, plus the case's own.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

REPO_ROOT = Path(__file__).resolve().parent.parent

# Variables removed from our environment before each case (prefix match for the ones with "*").
_CONTROLLED = (
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_*",
    "EMAIL_URL",
    "MFA_ENFORCED",
    "CLAIM_AUTO_APPROVE",
    "FIELD_ENCRYPTION_KEY",
    "PERSON_ID_KEY",
    "LEDGER_KEY",
    "CELERY_*",
    "NATIONAL_PLATFORM_*",
)

_DUMP = """
import json
import django
django.setup()
from django.conf import settings as s
from xinyidai import celery_app
db = s.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "name": str(db["NAME"]),
    "host": db.get("HOST", ""),
    "port": db.get("PORT", ""),
    "user": db.get("USER", ""),
    "atomic_requests": db.get("ATOMIC_REQUESTS"),
    "eager": s.CELERY_TASK_ALWAYS_EAGER,
    "broker": s.CELERY_BROKER_URL,
    "result_backend": s.CELERY_RESULT_BACKEND,
    "app_broker": celery_app.conf.broker_url,
    "app_eager": celery_app.conf.task_always_eager,
    "cache_backend": s.CACHES["default"]["BACKEND"],
    "cache_location": s.CACHES["default"].get("LOCATION", ""),
    "email_backend": s.EMAIL_BACKEND,
    "email_file_path": getattr(s, "EMAIL_FILE_PATH", None),
    "language_code": s.LANGUAGE_CODE,
    "time_zone": s.TIME_ZONE,
    "mfa_enforced": s.MFA_ENFORCED,
    "debug": s.DEBUG,
}))
"""


def _env(**overrides: str) -> dict[str, str]:
    env = {}
    for key, value in os.environ.items():
        controlled = any(
            key.startswith(pattern[:-1]) if pattern.endswith("*") else key == pattern
            for pattern in _CONTROLLED
        )
        if not controlled:
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = "xinyidai.settings"
    env.update(overrides)
    return env


def _run(args: list[str], **overrides: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=_env(**overrides),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _settings(**overrides: str) -> dict[str, Any]:
    proc = _run(["-c", _DUMP], **overrides)
    assert proc.returncode == 0, f"django.setup() failed:\n{proc.stdout}\n{proc.stderr}"
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


def _production_env() -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),  # 60 characters
        "DJANGO_ALLOWED_HOSTS": "xinyidai.example.cn",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PERSON_ID_KEY": secrets.token_urlsafe(32),
        "LEDGER_KEY": secrets.token_urlsafe(32),
        "NATIONAL_PLATFORM_URL": "https://national.example.cn/api/recommended-lists",
        "NATIONAL_PLATFORM_SECRET": secrets.token_urlsafe(32),
    }


def test_defaults_are_the_embedded_demo() -> None:
    s = _settings()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["name"] == str(REPO_ROOT / "db.sqlite3")
    assert s["atomic_requests"] is True
    assert s["eager"] is True
    assert s["app_eager"] is True
    assert s["broker"] == "memory://"
    assert s["app_broker"] == "memory://"
    assert s["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["email_backend"] == "django.core.mail.backends.console.EmailBackend"
    assert s["language_code"] == "zh-hans"
    assert s["time_zone"] == "Asia/Shanghai"
    assert s["mfa_enforced"] is True
    assert s["debug"] is True


def test_database_url_selects_postgresql() -> None:
    s = _settings(DATABASE_URL="postgres://u:p@127.0.0.1:5433/db")
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["name"] == "db"
    assert s["host"] == "127.0.0.1"
    assert int(s["port"]) == 5433
    assert s["user"] == "u"
    assert s["atomic_requests"] is True


def test_redis_url_selects_redis_for_cache_and_celery() -> None:
    url = "redis://127.0.0.1:6390/3"
    s = _settings(REDIS_URL=url)
    assert s["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert s["cache_location"] == url
    assert s["broker"] == url
    assert s["result_backend"] == url
    assert s["app_broker"] == url
    assert s["eager"] is False
    assert s["app_eager"] is False


def test_email_url_selects_file_backend() -> None:
    s = _settings(EMAIL_URL="filemail:///tmp/x")
    assert s["email_backend"] == "django.core.mail.backends.filebased.EmailBackend"
    assert s["email_file_path"] == "/tmp/x"


def test_mfa_can_be_switched_off_in_the_demo() -> None:
    assert _settings(MFA_ENFORCED="false")["mfa_enforced"] is False


def test_production_without_secrets_refuses_to_start() -> None:
    proc = _run(["-c", _DUMP], DJANGO_DEBUG="false")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "DJANGO_SECRET_KEY" in proc.stderr


def test_production_with_secrets_passes_the_deploy_check() -> None:
    prod = _production_env()
    s = _settings(**prod)
    assert s["debug"] is False
    assert s["mfa_enforced"] is True

    proc = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **prod)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "WARNINGS" not in output
    assert "(security.W" not in output


def test_production_refuses_mfa_switched_off() -> None:
    proc = _run(["-c", _DUMP], **_production_env(), MFA_ENFORCED="false")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "MFA_ENFORCED" in proc.stderr


def test_production_demands_the_national_platform() -> None:
    prod = _production_env()
    del prod["NATIONAL_PLATFORM_URL"]
    proc = _run(["-c", _DUMP], **prod)
    assert proc.returncode != 0
    assert "NATIONAL_PLATFORM_URL" in proc.stderr
    proc = _run(["-c", _DUMP], **(_production_env() | {"NATIONAL_PLATFORM_SECRET": "short"}))
    assert proc.returncode != 0
    assert "NATIONAL_PLATFORM_SECRET" in proc.stderr
