#!/usr/bin/env bash
# Instructions per service of BenchmarkStartStop (idle Base leaves built,
# started and stopped, beside the goroutine floor), which a shared machine
# does not blur: each variant runs under valgrind's callgrind (one thread at
# a time) for K and 2K lives of a tree of N leaves, and the difference
# divided by K*N is what one service costs, scheduler and garbage collector
# included. Needs valgrind (apt-get install valgrind).
#
# With FUNC=1 it measures BenchmarkFuncStartStop instead (Func leaves,
# beside suture and both floors).
#
#   ./startstop-instructions.sh [N] [K] [test binary]   (default 1000 20,
#                                                        binary built here)
#   FUNC=1 ./startstop-instructions.sh 1000 20
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
. ./callgrind.sh
bench=BenchmarkStartStop variants='mode mode-together mode-root floor' base=floor
if [ "${FUNC:-}" = 1 ]; then
	bench=BenchmarkFuncStartStop variants='mode mode-together mode-root suture floor floor-serial floor-together' base=suture
fi
count() { # variant, iterations -> instructions of the whole run
	instructions "$bin" "^$bench\$/^$1\$/^N=$n\$" "$2"
}
for v in $variants; do
	a=$(count "$v" "$k")
	b=$(count "$v" $((2 * k)))
	echo "$v $(( (b - a) / (k * n) ))"
done | awk -v base="$base" '{ ins[$1] = $2; order[NR] = $1 }
END { for (i = 1; i <= NR; i++) { v = order[i]
  printf "%-12s %7d instructions/service  x %s %.2f\n", v, ins[v], base, ins[v] / ins[base] } }'
rm -rf "$dir"
