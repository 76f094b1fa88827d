#!/usr/bin/env bash
# Locked instructions per restart: the LOCK-prefixed instructions and the
# XCHGs with memory (what a mutex section, an atomic store or add, and the
# runtime's own locks are made of; each costs tens of cycles, where most
# instructions cost one), for BenchmarkRestart's mode/return-error and
# suture variants. Each runs under valgrind's callgrind with
# --dump-instr=yes for N and 2N restarts, the collector off; the
# difference divided by N is what one restart executes, listed by function.
# Needs valgrind and objdump (apt-get install valgrind binutils).
#
#   ./locked-ops.sh [N] [functions listed per variant]   (default 10000 12)
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-10000}
top=${2:-12}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
go test -c -o "$dir/bench.test" .
# The locked instructions of the binary: address (hex) and function.
objdump -d --no-show-raw-insn "$dir/bench.test" | awk '
/^[0-9a-f]+ <.*>:$/ { fn = $2; next }
/^ *[0-9a-f]+:\t(lock |xchg)/ {
	if ($0 ~ /\txchg/ && $0 !~ /\(/) next # xchg between registers: a no-op
	a = $1; sub(":", "", a); print a, fn
}' >"$dir/locks.txt"
profile() { # variant, iterations, output file
	GOGC=off GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --dump-instr=yes \
		--callgrind-out-file="$3" "$dir/bench.test" -test.run '^$' \
		-test.bench "Restart/$1\$" -test.benchtime "$2x" -test.cpu 1 >/dev/null 2>&1
}
# perfn: the executions of each locked instruction in a callgrind file
# ("positions: instr line": each cost line is <instr> <line> <count>; an
# instr is absolute hex, or relative to the previous one; the line after
# calls= is a call's inclusive cost, not the instruction's own).
perfn() {
	awk '
	function hex(s,   i, c, v) {
		v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
		return v
	}
	NR == FNR { lk[hex($1)] = $2; next }
	/^calls=/ { call = 1; next }
	/^(0x|\+|-|\*)/ {
		p = $1
		if (p ~ /^0x/) pos = hex(p)
		else if (p ~ /^\+/) pos += (substr(p, 2) ~ /^0x/ ? hex(substr(p, 2)) : substr(p, 2) + 0)
		else if (p ~ /^-/) pos -= (substr(p, 2) ~ /^0x/ ? hex(substr(p, 2)) : substr(p, 2) + 0)
		if (call) { call = 0; next }
		if ((pos in lk) && NF >= 3) n[lk[pos]] += $3
	}
	END { for (f in n) print f, n[f] }' "$dir/locks.txt" "$1"
}
for v in mode/return-error suture; do
	profile "$v" "$n" "$dir/a.out"
	profile "$v" $((2 * n)) "$dir/b.out"
	perfn "$dir/a.out" >"$dir/a.txt"
	perfn "$dir/b.out" >"$dir/b.txt"
	awk -v n="$n" -v v="$v" -v top="$top" '
	NR == FNR { a[$1] = $2; next }
	{ d[$1] = ($2 - a[$1]) / n; total += d[$1] }
	END {
		printf "%s: %.1f locked instructions per restart\n", v, total
		for (k = 0; k < top; k++) {
			best = ""; for (f in d) if (best == "" || d[f] > d[best]) best = f
			if (best == "" || d[best] < 0.5) break
			printf "  %5.1f %s\n", d[best], best; delete d[best]
		}
	}' "$dir/a.txt" "$dir/b.txt"
done
