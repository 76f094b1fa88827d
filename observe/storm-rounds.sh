#!/usr/bin/env bash
# Restart latency of a 1,000-child supervisor under a crash storm, with and
# without observers (BenchmarkRestartObserved in this package): each
# variant runs in its own process, the variants interleaved, R rounds.
# Prints each variant's median ns/op (an op is 20 restarts) and the median
# and quartiles of its ratio to the unobserved run of the same round
# (paired: a shared machine drifts between rounds, less within one). The
# order of the variants turns from round to round. A process's first
# operations include what opening the page costs once (its first look at
# the tree and first update): 24,000 operations spread it thin, 6,000 do not.
#
#   ./storm-rounds.sh [R] [ITERATIONS]     (default 24 rounds of 24000)
#   CPU=1 ./storm-rounds.sh                (GOMAXPROCS=1: the CPU work, serialised)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-24}
iters=${2:-24000}
dir=$(mktemp -d)
go test -c -o "$dir/observe.test" .
variants=(unobserved noop-observer attached page-open)
for r in $(seq "$rounds"); do
	for k in 0 1 2 3; do # each round in another order: no variant always runs first or last
		v=${variants[$(((r + k) % 4))]}
		"$dir/observe.test" -test.run '^$' -test.bench "BenchmarkRestartObserved/^$v\$" -test.benchtime "${iters}x" -test.cpu "${CPU:-2}" |
			awk -v v="$v" -v r="$r" '/^Benchmark/ { print r, v, $3 }'
	done
done | awk '
function median(a, n,   i, j, t) {
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{ ns[$1, $2] = $3; rounds[$1] = 1 }
END {
	split("unobserved noop-observer attached page-open", order, " ")
	for (i = 1; i <= 4; i++) {
		v = order[i]; n = 0; delete t; delete q
		for (r in rounds) { n++; t[n] = ns[r, v]; q[n] = ns[r, v] / ns[r, "unobserved"] }
		m = median(t, n); mr = median(q, n)
		printf "%-14s median %8.0f ns/op  x unobserved: median %.3f, quartiles %.3f-%.3f  (%d rounds)\n", v, m, mr, q[int((n + 3) / 4)], q[int((3 * n + 3) / 4)], n
	}
}'
