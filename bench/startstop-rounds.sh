#!/usr/bin/env bash
# Start and stop of N leaves in rounds: each round runs BenchmarkFuncStartStop
# and BenchmarkStartStop once in one process (N=1000 and 10000 for a time,
# N=100000 for 3 lives), so that in every round mode, suture and the floor
# run side by side, minutes apart at most. Prints, per benchmark, variant
# and N, the median over the rounds of ns/svc (and its range), of the ratio
# to suture and to the floor measured in the same round, and of the
# allocations per service (run = start+stop; total = build+start+stop).
#
#   ./startstop-rounds.sh [rounds] [benchtime for N<100000]   (default 5, 500ms)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-5}
bt=${2:-500ms}
dir=$(mktemp -d)
go test -c -o "$dir/bench.test" .
for round in $(seq "$rounds"); do
	for run in "N=(1000|10000)\$ $bt" "N=100000\$ 3x"; do
		set -- $run
		"$dir/bench.test" -test.run '^$' -test.bench "^Benchmark(Func)?StartStop\$/.*/$1" \
			-test.benchtime "$2" | sed -n "s/^Benchmark/$round /p"
	done
done >"$dir/runs.txt"
awk '
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	lo = a[1]; hi = a[n]
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
{
	r = $1; split($2, p, "/"); bench = p[1]; v = p[2]; nn = p[3]; sub(/-[0-9]+$/, "", nn)
	key = bench SUBSEP v SUBSEP nn
	if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
	for (i = 4; i < NF; i += 2) val[r, key, $(i+1)] = $i
	rounds[r] = 1
}
END {
	printf "%-14s %-12s %-8s %9s %17s %8s %8s %10s %9s %10s %9s\n", "benchmark", "variant", "N", "ns/svc", "range", "xsuture", "xfloor", "run-alloc", "run-B", "all-alloc", "all-B"
	for (k = 1; k <= nk; k++) {
		key = order[k]; split(key, q, SUBSEP)
		ns = su = fl = ra = rb = aa = ab = ""
		for (r in rounds) {
			if (!((r, key, "ns/svc") in val)) continue
			x = val[r, key, "ns/svc"]; ns = ns " " x
			s = val[r, q[1] SUBSEP "suture" SUBSEP q[3], "ns/svc"]; if (s != "") su = su " " x / s
			f = val[r, q[1] SUBSEP "floor" SUBSEP q[3], "ns/svc"]; if (f != "") fl = fl " " x / f
			n = q[3]; sub(/N=/, "", n)
			ra = ra " " val[r, key, "run-allocs/svc"]; rb = rb " " val[r, key, "run-B/svc"]
			aa = aa " " val[r, key, "allocs/op"] / n; ab = ab " " val[r, key, "B/op"] / n
		}
		m = median(ns); rng = sprintf("%.0f-%.0f", lo, hi)
		printf "%-14s %-12s %-8s %9.0f %17s %8s %8s %10.2f %9.0f %10.2f %9.0f\n", q[1], q[2], q[3], m, rng,
			su == "" ? "-" : sprintf("%.2f", median(su)), fl == "" ? "-" : sprintf("%.2f", median(fl)),
			median(ra), median(rb), median(aa), median(ab)
	}
}' "$dir/runs.txt"
echo "raw results: $dir/runs.txt"
