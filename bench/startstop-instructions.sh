#!/usr/bin/env bash
# Instructions per service of BenchmarkStartStop (idle Base leaves built,
# started and stopped, beside the goroutine floor), which a shared machine
# does not blur: each variant runs under valgrind's callgrind (one thread at
# a time) for K and 2K lives of a tree of N leaves, and the difference
# divided by K*N is what one service costs, scheduler and garbage collector
# included. Needs valgrind (apt-get install valgrind).
#
#   ./startstop-instructions.sh [N] [K] [test binary]   (default 1000 20,
#                                                        binary built here)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-1000}
k=${2:-20}
dir=$(mktemp -d)
bin=${3:-}
if [ -z "$bin" ]; then
	bin="$dir/bench.test"
	go test -c -o "$bin" .
fi
count() { # variant, lives -> instructions of the whole run
	local try ok
	for try in 1 2 3; do # a run under valgrind now and then dies early
		# No asynchronous preemption: its signals crash callgrind now and then.
		ok=$(GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$bin" \
			-test.run '^$' -test.bench "^BenchmarkStartStop\$/^$1\$/^N=$n\$" -test.benchtime "$2x" -test.cpu 1 2>"$dir/err.txt" |
			grep -c '^PASS$' || true)
		if [ "$ok" = 1 ]; then
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/err.txt"
			return
		fi
	done
	echo "startstop-instructions: $1 failed under valgrind:" >&2
	tail -20 "$dir/err.txt" >&2
	exit 1
}
for v in mode mode-root floor; do
	a=$(count "$v" "$k")
	b=$(count "$v" $((2 * k)))
	echo "$v $(( (b - a) / (k * n) ))"
done | awk '{ ins[$1] = $2; order[NR] = $1 }
END { for (i = 1; i <= NR; i++) { v = order[i]
  printf "%-10s %7d instructions/service  x floor %.2f\n", v, ins[v], ins[v] / ins["floor"] } }'
rm -rf "$dir"
