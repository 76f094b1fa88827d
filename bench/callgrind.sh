# Sourced by the *-instructions.sh scripts: instructions BIN PATTERN ITERS
# prints the instructions of one run of the benchmarks matching PATTERN in
# the test binary BIN for ITERS iterations, under valgrind's callgrind, one
# thread at a time. $dir must be a scratch directory.
instructions() {
	local try ok
	for try in 1 2 3; do # a run under valgrind now and then dies early
		# No asynchronous preemption: its signals crash callgrind now and then.
		ok=$(GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" "$1" \
			-test.run '^$' -test.bench "$2" -test.benchtime "$3x" -test.cpu 1 2>"$dir/err.txt" |
			grep -c '^PASS$' || true)
		if [ "$ok" = 1 ]; then
			sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$dir/err.txt"
			return
		fi
	done
	echo "$(basename "$0"): $2 failed under valgrind:" >&2
	tail -20 "$dir/err.txt" >&2
	exit 1
}
