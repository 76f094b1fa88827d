#!/usr/bin/env bash
# Restart cost in CPU instructions, which a shared machine does not blur:
# each variant of BenchmarkRestart runs under valgrind's callgrind (one
# thread at a time) for N and 2N restarts, and the difference divided by N
# is the instructions one restart costs, scheduler and garbage collector
# included. Needs valgrind (apt-get install valgrind).
#
#   ./restart-instructions.sh [N]     (default 20000)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-20000}
dir=$(mktemp -d)
go test -c -o "$dir/bench.test" .
. ./callgrind.sh
count() { # variant, iterations -> instructions of the whole run
	instructions "$dir/bench.test" "Restart/$1\$" "$2"
}
for v in mode/return-error mode/Crash suture goroutine goroutine-ctx-recover; do
	a=$(count "$v" "$n")
	b=$(count "$v" $((2 * n)))
	echo "$v $(( (b - a) / n ))"
done | awk '{ ins[$1] = $2; order[NR] = $1 }
END { for (i = 1; i <= NR; i++) { v = order[i]
  printf "%-22s %6d instructions/restart  x suture %.2f  x floor2 %.2f\n", v, ins[v], ins[v] / ins["suture"], ins[v] / ins["goroutine-ctx-recover"] } }'
