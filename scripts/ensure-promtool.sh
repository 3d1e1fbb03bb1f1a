#!/usr/bin/env bash
# Install promtool (Debian's `prometheus` package) when it is missing: test_alert_rules.py runs
# `promtool check rules` and fails without it. Needs root and apt-get (CI runs as root); elsewhere
# it says what to install and leaves the failing test to say the rest.
set -u

command -v promtool >/dev/null 2>&1 && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-promtool: installing Debian's prometheus package (for promtool)"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d keeps the package's post-install script from starting a Prometheus server.
  policy=/usr/sbin/policy-rc.d
  had_policy=0
  [ -e "$policy" ] && had_policy=1
  if [ "$had_policy" = 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
  fi
  apt-get update -qq && apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends prometheus >/dev/null
  status=$?
  if [ "$had_policy" = 0 ]; then rm -f "$policy"; fi
  exit "$status"
fi

echo "ensure-promtool: promtool is missing; install it (Debian/Ubuntu: apt-get install" \
  "prometheus) or test_alert_rules.py fails" >&2
exit 0
