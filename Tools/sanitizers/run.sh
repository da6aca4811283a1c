#!/usr/bin/env bash
# The test suite under a sanitizer, each in its own scratch build directory
# (a sanitized build shares nothing with the normal one):
#   Tools/sanitizers/run.sh address [swift test options…]   AddressSanitizer + LeakSanitizer
#   Tools/sanitizers/run.sh thread  [swift test options…]   ThreadSanitizer
# Fails on any report. Suppressions (Tools/sanitizers/*-suppressions.txt) hold
# only reports shown not to be this package's, each with its reason.
# CI runs `address` on the whole suite; `thread` (another ~9 minutes of build
# and run on 2 cores) is run here, to keep CI under 45 minutes.
set -euo pipefail
cd "$(dirname "$0")/../.."
kind=${1:?usage: run.sh address|thread [swift test options]}; shift
here=$PWD/Tools/sanitizers
log=$(mktemp)
set +e
case "$kind" in
  address)
    LSAN_OPTIONS="suppressions=$here/lsan-suppressions.txt" ASAN_OPTIONS="detect_leaks=1" \
      swift test --sanitize=address --scratch-path .build-asan "$@" >"$log" 2>&1 ;;
  thread)
    TSAN_OPTIONS="halt_on_error=0" swift test --sanitize=thread --scratch-path .build-tsan "$@" >"$log" 2>&1 ;;
  *) echo "run.sh: expected address or thread, got '$kind'" >&2; exit 2 ;;
esac
status=$?
set -e
grep -E "Test run with|✘|ERROR: .*Sanitizer|WARNING: ThreadSanitizer|SUMMARY: .*Sanitizer" "$log" | head -20 || true
if grep -qE "ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|✘" "$log" || [ "$status" != 0 ]; then
  echo "sanitizers: $kind: FAIL (full log $log)" >&2; exit 1
fi
echo "sanitizers: $kind: no report"
