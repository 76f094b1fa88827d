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
count() { # variant, restarts -> instructions of the whole run
	local try n
	for try in 1 2 3; do # a run under valgrind now and then dies early
		# No asynchronous preemption: its signals crash callgrind now and then.
		n=$(GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$dir/bench.test" \
			-test.run '^$' -test.bench "Restart/$1\$" -test.benchtime "$2x" -test.cpu 1 2>"$dir/err.txt" |
			grep -c '^PASS$' || true)
		if [ "$n" = 1 ]; then
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/err.txt"
			return
		fi
	done
	echo "restart-instructions: $1 failed under valgrind:" >&2
	tail -20 "$dir/err.txt" >&2
	exit 1
}
for v in mode/return-error mode/Crash suture goroutine goroutine-ctx-recover; do
	a=$(count "$v" "$n")
	b=$(count "$v" $((2 * n)))
	echo "$v $(( (b - a) / n ))"
done | awk '{ ins[$1] = $2; order[NR] = $1 }
END { for (i = 1; i <= NR; i++) { v = order[i]
  printf "%-22s %6d instructions/restart  x suture %.2f  x floor2 %.2f\n", v, ins[v], ins[v] / ins["suture"], ins[v] / ins["goroutine-ctx-recover"] } }'
