#!/usr/bin/env bash
# Restart latency of a 1,000-child supervisor under a crash storm, with and
# without observers (BenchmarkRestartObserved in this package): each
# variant runs in its own process, the variants interleaved, R rounds;
# prints each variant's median ns/op (an op is 20 restarts) and its ratio
# to the unobserved one.
#
#   ./storm-rounds.sh [R] [ITERATIONS]     (default 10 rounds of 6000)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-10}
iters=${2:-6000}
dir=$(mktemp -d)
go test -c -o "$dir/observe.test" .
for _ in $(seq "$rounds"); do
	for v in unobserved noop-observer attached page-open; do
		"$dir/observe.test" -test.run '^$' -test.bench "BenchmarkRestartObserved/^$v\$" -test.benchtime "${iters}x" -test.cpu "${CPU:-2}" |
			awk -v v="$v" '/^Benchmark/ { print v, $3 }'
	done
done | sort -k1,1 -k2n | awk '
{ n[$1]++; x[$1, n[$1]] = $2 }
END {
	split("unobserved noop-observer attached page-open", order, " ")
	for (i = 1; i <= 4; i++) { v = order[i]; c = n[v]
		m[v] = (c % 2) ? x[v, (c + 1) / 2] : (x[v, c / 2] + x[v, c / 2 + 1]) / 2 }
	for (i = 1; i <= 4; i++) { v = order[i]
		printf "%-14s median %8.0f ns/op  x unobserved %.2f  (%d rounds)\n", v, m[v], m[v] / m["unobserved"], n[v] } }'
