#!/usr/bin/env bash
# Installs Debian's chromium for the web-page tests (tests/integration/test_web_page.py), which drive
# /usr/bin/chromium with Playwright's Python package. No Playwright browser download: do not run
# `playwright install`. Idempotent: does nothing but print the version when chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ ! -x "$CHROMIUM" ]]; then
  if [[ "$(id -u)" -eq 0 ]]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install-browser.sh: $CHROMIUM is missing and this is not root, and sudo is not available;" >&2
    echo "install it as root: apt-get update && apt-get install -y chromium" >&2
    exit 1
  fi
  echo "Installing Debian's chromium ..."
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
fi

"$CHROMIUM" --version
