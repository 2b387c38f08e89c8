#!/usr/bin/env bash
# Installs what the web console's browser test (tests/real/console_browser.rs)
# needs: Debian's `chromium` and `chromium-driver` (the WebDriver server the
# test drives Chromium through, headless), when they are missing and this is
# root with apt-get. Otherwise it only says what is missing: the test then
# skips, or fails under CLAUDE_COMMS_REQUIRE_REAL=1 (scripts/test.sh),
# naming the packages. Nothing is downloaded from a browser vendor: the
# test uses the distribution's Chromium, which works offline.
set -euo pipefail

missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "install-browser: missing for the console's browser test: ${missing[*]}; install Debian's" \
        "packages (apt-get install --no-install-recommends ${missing[*]})" >&2
    exit 0
fi
echo "install-browser: installing Debian's packages ${missing[*]} for the console's browser test" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
