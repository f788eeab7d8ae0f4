#!/usr/bin/env bash
# long_run.sh TARGET...: runs each fuzz target built by `make fuzz-build` for
# FUZZ_RUNS executions (default 10 million), one at a time, at the lowest CPU priority,
# stopping a target early at FUZZ_DEADLINE (a `date -d` time, optional). Writes the
# libFuzzer log to build/fuzz/long/TARGET.log and one summary line per target to
# build/fuzz/long/summary.txt: target, executions, exec/s, seconds, result.
# FUZZ_FLAGS_<target> adds libFuzzer flags for one target (e.g. FUZZ_FLAGS_config=
# -detect_leaks=0: see docs/fuzzing.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${FUZZ_RUNS:-10000000}
out=build/fuzz/long
mkdir -p "$out"
for t in "$@"; do
	bin=build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "$t: no $bin (make fuzz-build)" >>"$out/summary.txt"; continue; }
	mkdir -p build/fuzz/new/$t
	limit=()
	if [ -n "${FUZZ_DEADLINE:-}" ]; then
		left=$(($(date -d "$FUZZ_DEADLINE" +%s) - $(date +%s)))
		[ $left -gt 0 ] || { echo "$t: not started, deadline passed" >>"$out/summary.txt"; continue; }
		limit=(-max_total_time=$left)
	fi
	extra_var=FUZZ_FLAGS_$t
	# shellcheck disable=SC2206
	extra=(${!extra_var:-})
	t0=$(date +%s)
	LSAN_OPTIONS=suppressions=$PWD/tests/fuzz/lsan.supp nice -n 19 "$bin" -runs="$runs" "${limit[@]}" "${extra[@]}" \
		-print_final_stats=1 -artifact_prefix=tests/fuzz/corpus/$t/crash- \
		build/fuzz/new/$t tests/fuzz/corpus/$t >"$out/$t.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/$t.log" | tail -1)
	echo "$t execs=${execs:-?} exec_per_s=${rate:-?} seconds=$secs exit=$rc started=$(date -u -d @$t0 +%H:%M:%S) flags=${extra[*]:-none}" >>"$out/summary.txt"
done
