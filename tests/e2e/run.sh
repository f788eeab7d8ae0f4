#!/usr/bin/env bash
# run.sh: runs the end-to-end scenarios (every t_*.sh in the topic folders
# tests/e2e/*/, or those named as arguments: t_name, topic/t_name or a path, with or
# without .sh), each under a 300 s timeout; those marked "# e2e: pairs" two at a time,
# the rest one at a time; prints PASS/FAIL/SKIP per test (with its folder) and a summary
# line; exits 1 on failure. The harness (lib.sh and the helpers) lives in tests/e2e/lib.
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
		a=${a%.sh} t=
		case $a in
		*/*) t=$(basename "$(dirname "$a")")/$(basename "$a") ;; # topic/t_name or a path
		*) for f in "$dir"/*/"$a.sh"; do [ -f "$f" ] && t=${f#"$dir"/} && t=${t%.sh}; done ;;
		esac
		if [ -z "$t" ] || [ "${t%%/*}" = lib ] || [ ! -f "$dir/$t.sh" ]; then
			echo "run.sh: no such test: $a" >&2
			exit 2
		fi
		tests+=("$dir/$t.sh")
	done
else
	for f in "$dir"/*/t_*.sh; do
		[ -e "$f" ] && tests+=("$f")
	done
fi

if [ ! -x "$FULCRUM" ]; then
	echo "run.sh: warning: no fulcrum binary at $FULCRUM; tests that need it will fail" >&2
fi

pass=0 failed=0 skipped=0
failed_names=()
start=$SECONDS
outdir=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-e2e-run.XXXXXX")
trap 'rm -rf "$outdir"' EXIT
# ports handed out in this run, by every scenario: fulcrum binds data listeners with
# SO_REUSEPORT, so two scenarios running side by side that drew the same free port would
# both bind it and the kernel would split one's connections between the two processes
export E2E_PORTS_FILE=$outdir/ports
: >"$E2E_PORTS_FILE"

# report T: prints the verdict of one finished scenario T (its output on failure), named
# by its folder and name (http/t_headers), which run.sh takes back as an argument.
report() {
	local name label rc secs out
	name=$(basename "$1" .sh)
	label=$(basename "$(dirname "$1")")/$name
	rc=$(cat "$outdir/$name.rc") secs=$(cat "$outdir/$name.secs") out=$outdir/$name.out
	case $rc in
	0)
		pass=$((pass + 1))
		echo "PASS $label (${secs}s)"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $label: $(grep -m1 '^SKIP' "$out" | sed 's/^SKIP: [^:]*: //')"
		;;
	*)
		failed=$((failed + 1))
		failed_names+=("$label")
		[ "$rc" -eq 124 ] && echo "(timed out after 300 s)" >>"$out"
		echo "FAIL $label (${secs}s, exit $rc)"
		sed 's/^/    /' "$out"
		;;
	esac
}

# run_one T: runs one scenario under its 300 s timeout; writes NAME.rc and NAME.secs.
run_one() {
	local t=$1 name t0 rc
	name=$(basename "$t" .sh)
	t0=$SECONDS
	timeout -k 20 300 bash "$t" </dev/null >"$outdir/$name.out" 2>&1
	rc=$?
	echo $((SECONDS - t0)) >"$outdir/$name.secs"
	echo $rc >"$outdir/$name.rc"
}

# Scenarios that say "# e2e: pairs" in their first lines are short and measure no
# timing, so they run two at a time (E2E_PAIRS=0 runs them one by one): two slots, the
# next one starting as soon as either slot frees (not in lock-step pairs, where a short
# scenario's slot idled while its long neighbour ran on); the others run alone
# afterwards, with the machine to themselves. "# e2e: pairs, first" marks the longest
# of them, started ahead of the others so that the short ones fill the other slot
# meanwhile instead of the long one running on alone at the end.
pairs=() alone=() first=()
for t in "${tests[@]}"; do
	if [ "${E2E_PAIRS:-1}" != 0 ] && head -n 20 "$t" | grep -q '^# e2e: pairs, first'; then
		first+=("$t")
	elif [ "${E2E_PAIRS:-1}" != 0 ] && head -n 20 "$t" | grep -q '^# e2e: pairs'; then
		pairs+=("$t")
	else
		alone+=("$t")
	fi
done
pairs=(${first[@]+"${first[@]}"} ${pairs[@]+"${pairs[@]}"})
declare -A running=() # pid of a run_one in the background -> its scenario
i=0
while [ $i -lt ${#pairs[@]} ] || [ ${#running[@]} -gt 0 ]; do
	while [ ${#running[@]} -lt 2 ] && [ $i -lt ${#pairs[@]} ]; do
		run_one "${pairs[$i]}" &
		running[$!]=${pairs[$i]}
		i=$((i + 1))
	done
	done_pid=
	wait -n -p done_pid "${!running[@]}" || true
	if [ -z "$done_pid" ]; then # interrupted: collect whatever has ended
		for done_pid in "${!running[@]}"; do
			kill -0 "$done_pid" 2>/dev/null && continue
			wait "$done_pid" 2>/dev/null
			report "${running[$done_pid]}"
			unset "running[$done_pid]"
		done
		continue
	fi
	report "${running[$done_pid]}"
	unset "running[$done_pid]"
done
for t in "${alone[@]}"; do
	run_one "$t"
	report "$t"
done

summary="e2e: $pass passed, $failed failed"
[ $skipped -gt 0 ] && summary="$summary, $skipped skipped"
echo "($((SECONDS - start))s${failed_names[*]:+; failed: ${failed_names[*]}})"
echo "$summary"
[ $failed -eq 0 ]
