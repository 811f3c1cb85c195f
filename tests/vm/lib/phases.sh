# gmem-bench in phases (sourced by tests/bench and tests/prof; busybox sh):
# one process measures REPS runs per phase on the same pages and waits on
# a FIFO between phases, while the caller attaches or detaches tracing.
# Its output comes through a FIFO too, read with a blocking read: a loop
# polling a file ran a process every 0.2 s beside the measurement, and on
# this kernel the pinning task paid for them (guest memory traced looked
# twice as slow).
#   phases_start MEM MIB REPS PHASES DIR   (DIR: a scratch directory)
#   phases_wait K                          prints phase K's line
#   phases_next                            lets the next phase start
#   phases_end                             waits for gmem-bench to exit

phases_start() {
	PHASES_DIR=$5
	rm -f "$PHASES_DIR/ctl" "$PHASES_DIR/out"
	mkfifo "$PHASES_DIR/ctl" "$PHASES_DIR/out"
	gmem-bench "$1" "$2" "$3" "$4" <"$PHASES_DIR/ctl" >"$PHASES_DIR/out" \
		2>"$PHASES_DIR/bench.err" &
	PHASES_PID=$!
	exec 3>"$PHASES_DIR/ctl" 4<"$PHASES_DIR/out"
}

phases_wait() {
	while read -r line <&4; do
		case $line in
		"phase=$1 "*) echo "$line"; return 0 ;;
		esac
	done
	cat "$PHASES_DIR/bench.err" >&2
	return 1
}

phases_next() { echo go >&3; }

phases_end() {
	exec 3>&- 4<&-
	wait "$PHASES_PID"
}
