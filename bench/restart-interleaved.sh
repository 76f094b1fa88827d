#!/usr/bin/env bash
# Restart latency, interleaved: each variant of BenchmarkRestart runs in its
# own process, in a new random order each round, so that a slow spell of a
# shared machine hits every variant alike. Prints, per variant, the median
# ns/op and its range, and the median over the rounds of the ratio to
# suture (with a 95% bootstrap interval of that median, in brackets) and
# to the ctx+recover floor measured in the same round.
#
#   ./restart-interleaved.sh [rounds] [GOMAXPROCS]     (default 20 rounds, all CPUs)
set -euo pipefail
cd "$(dirname "$0")"
rounds=${1:-20}
cpu=${2:-$(getconf _NPROCESSORS_ONLN)}
dir=$(mktemp -d)
go test -c -o "$dir/bench.test" .
variants='mode/return-error mode/Crash suture goroutine goroutine-ctx-recover'
for round in $(seq "$rounds"); do
	for v in $(printf '%s\n' $variants | shuf); do
		"$dir/bench.test" -test.run '^$' -test.bench "Restart/$v\$" -test.benchtime 300ms \
			-test.cpu "$cpu" -test.benchmem | sed -E -n "s/^BenchmarkRestart\/([^ ]*[^-0-9 ])(-[0-9]+)? .* ([0-9.]+) ns\/op.*/$round \1 \3/p"
	done
done >"$dir/runs.txt"
awk -v variants="$variants" '
function median(list,   a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
	lo = a[1]; hi = a[n]
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
# boot sets blo and bhi to a 95% bootstrap interval of the median of list
# (2,000 resamples of the rounds, with replacement).
function boot(list,   a, n, b, i, j, s, t, meds) {
	n = split(list, a, " ")
	for (b = 1; b <= 2000; b++) {
		s = ""
		for (i = 1; i <= n; i++) s = s " " a[int(rand() * n) + 1]
		meds[b] = median(s)
	}
	for (i = 2; i <= 2000; i++) for (j = i; j > 1 && meds[j-1] > meds[j]; j--) { t = meds[j]; meds[j] = meds[j-1]; meds[j-1] = t }
	blo = meds[50]; bhi = meds[1951]
}
BEGIN { srand(1) }
{ ns[$1, $2] = $3; all[$2] = all[$2] " " $3; if ($1 > last) last = $1 }
END {
	n = split(variants, vs, " ")
	for (i = 1; i <= n; i++) { v = vs[i]; su = fl = ""
		for (r = 1; r <= last; r++) {
			su = su " " ns[r, v] / ns[r, "suture"]
			fl = fl " " ns[r, v] / ns[r, "goroutine-ctx-recover"]
		}
		m = median(all[v]); l = lo; h = hi
		boot(su)
		printf "%-22s median %6.0f ns/op (%s-%s)   x suture %.2f [%.2f-%.2f]   x floor2 %.2f\n", v, m, l, h, median(su), blo, bhi, median(fl)
	}
}' "$dir/runs.txt"
