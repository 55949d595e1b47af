#!/usr/bin/env bash
# Make sure the PostgreSQL server the tests use answers on 127.0.0.1:5432; start it if not.
set -euo pipefail
answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1; then
    echo "services: pg_isready not found; PostgreSQL tests will skip (fail with CI=true)" >&2
    exit 0
fi
if ! answers; then
    echo "services: starting PostgreSQL" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do answers && break; sleep 1; done
fi
answers && echo "services: PostgreSQL answers on 127.0.0.1:5432" >&2 || {
    echo "services: PostgreSQL does not answer; its tests will skip (fail with CI=true)" >&2
}

# The browser test (tests/web/test_browser.py) drives Debian's chromium through its chromedriver;
# with CI=true it fails when they are missing, so CI (root, Debian) installs them here.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "services: installing chromium and chromium-driver for the browser test" >&2
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends chromium chromium-driver; } >&2 \
            || echo "services: installing chromium failed; the browser test will fail" >&2
    else
        echo "services: no chromium (not root here): the browser test skips, or fails in CI" >&2
    fi
fi
