#!/usr/bin/env bash
# What observers (service.Observe) cost a restart, in CPU instructions:
# each variant of BenchmarkRestartObserved runs under valgrind's callgrind
# for N and 2N restarts; the difference divided by N is one restart's cost.
#
#   ./observe-instructions.sh [N]     (default 10000)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-10000}
dir=$(mktemp -d)
go test -c -o "$dir/bench.test" .
. ./callgrind.sh
for v in unobserved observer-elsewhere observed; do
	a=$(instructions "$dir/bench.test" "RestartObserved/^$v\$" "$n")
	b=$(instructions "$dir/bench.test" "RestartObserved/^$v\$" $((2 * n)))
	echo "$v $(( (b - a) / n ))"
done | awk '{ ins[$1] = $2; order[NR] = $1 }
END { for (i = 1; i <= NR; i++) { v = order[i]
  printf "%-20s %6d instructions/restart  x unobserved %.3f\n", v, ins[v], ins[v] / ins["unobserved"] } }'
