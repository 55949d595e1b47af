#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers on 127.0.0.1:5432; start it if not.
set -euo pipefail
answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
    echo "services: pg_isready not found; PostgreSQL tests will be skipped" >&2
    exit 0
fi
if ! answers; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do answers && break; sleep 1; done
fi
answers && echo "services: PostgreSQL answers on 127.0.0.1:5432" >&2 || {
    echo "services: PostgreSQL does not answer; its tests will be skipped" >&2
}
