# gmem-bench in phases (sourced by tests/bench and tests/prof; busybox sh):
# one process measures REPS runs per phase on the same pages and waits on
# a FIFO between phases, while the caller attaches or detaches tracing.
#   phases_start MEM MIB REPS PHASES DIR   (DIR: a scratch directory)
#   phases_wait K                          prints phase K's line once it is there
#   phases_next                            lets the next phase start
#   phases_end                             waits for gmem-bench to exit

phases_start() {
	PHASES_DIR=$5
	rm -f "$PHASES_DIR/ctl" "$PHASES_DIR/bench.out"
	mkfifo "$PHASES_DIR/ctl"
	gmem-bench "$1" "$2" "$3" "$4" <"$PHASES_DIR/ctl" >"$PHASES_DIR/bench.out" \
		2>"$PHASES_DIR/bench.err" &
	PHASES_PID=$!
	exec 3>"$PHASES_DIR/ctl"
}

phases_wait() {
	while ! grep -q "^phase=$1 " "$PHASES_DIR/bench.out"; do
		kill -0 "$PHASES_PID" 2>/dev/null || { cat "$PHASES_DIR/bench.err" >&2; return 1; }
		sleep 0.2
	done
	grep "^phase=$1 " "$PHASES_DIR/bench.out"
}

phases_next() { echo go >&3; }

phases_end() {
	exec 3>&-
	wait "$PHASES_PID"
}
