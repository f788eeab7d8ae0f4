#!/usr/bin/env bash
# run.sh: runs the end-to-end scenarios (every tests/e2e/t_*.sh, or those named as
# arguments, with or without the directory and .sh), one at a time, each under a
# 300 s timeout; prints PASS/FAIL/SKIP per test and a summary line; exits 1 on failure.
# Env: FULCRUM (binary, default build/fulcrum in the repo), E2E_KEEP=1 keeps temp dirs.
set -uo pipefail

dir=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$dir/../.." && pwd)
FULCRUM=${FULCRUM:-build/fulcrum}
case $FULCRUM in
/*) ;;
*) if [ -e "$PWD/$FULCRUM" ]; then FULCRUM=$PWD/$FULCRUM; else FULCRUM=$repo/$FULCRUM; fi ;;
esac
export FULCRUM

tests=()
if [ $# -gt 0 ]; then
	for a in "$@"; do
		a=$(basename "$a" .sh)
		[ -f "$dir/$a.sh" ] || { echo "run.sh: no such test: $a" >&2; exit 2; }
		tests+=("$dir/$a.sh")
	done
else
	for f in "$dir"/t_*.sh; do
		[ -e "$f" ] && tests+=("$f")
	done
fi

if [ ! -x "$FULCRUM" ]; then
	echo "run.sh: warning: no fulcrum binary at $FULCRUM; tests that need it will fail" >&2
fi

pass=0 failed=0 skipped=0
failed_names=()
start=$SECONDS
out=$(mktemp "${TMPDIR:-/tmp}/fulcrum-e2e-run.XXXXXX")
trap 'rm -f "$out"' EXIT
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	t0=$SECONDS
	timeout -k 20 300 bash "$t" </dev/null >"$out" 2>&1
	rc=$?
	secs=$((SECONDS - t0))
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $name (${secs}s)"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$out" | sed 's/^SKIP: [^:]*: //')"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$name")
		[ $rc -eq 124 ] && echo "(timed out after 300 s)" >>"$out"
		echo "FAIL $name (${secs}s, exit $rc)"
		sed 's/^/    /' "$out"
		;;
	esac
done

summary="e2e: $pass passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "($((SECONDS - start))s${failed_names[*]:+; failed: ${failed_names[*]}})"
echo "$summary"
[ $failed -eq 0 ]
