#!/bin/sh
# make demo: two VMMs with guest_memfd memory, pins held through io_uring
# fixed buffers, and gmemtop -b showing who holds them.
. "$(dirname "$0")/lib/common.sh"

# kernel messages would interleave with the table on the console
echo 1 >/proc/sys/kernel/printk
echo "### starting gmemtop, then two gmem-pinner VMMs that pin guest memory"
gmemtop -b -f -r 8 1 1000000 >"$T/top.txt" 2>"$T/top.err" &
GMEMTOP_PID=$!
wait_for 120 test -s "$T/top.txt" || { cat "$T/top.err"; fail "gmemtop did not start"; }

start_pinner 16
pinner pin-uring 0 300
pinner pin-uring 1024 600
first=$PINNER_PID
exec 4>&3
PINNER_PID=
start_pinner 8
pinner pin-uring 100 64
sleep 3
kill "$GMEMTOP_PID"
wait "$GMEMTOP_PID"
GMEMTOP_PID=

echo "### gmemtop -b -f -r 8 (last snapshot): pinner $first holds 900 pins, pinner $PINNER_PID 64"
echo
last_table "$T/top.txt"
echo "quit" >&4
