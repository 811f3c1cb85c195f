#!/bin/sh
# Losses are counted and shown, never silent: a folio map of 16 entries
# against 64 pinned folios loses exactly 48 pins; a 4 KiB scan ring buffer
# against 600 pinned folios drops records.  Both snapshots say incomplete,
# in JSON and in the table.
. "$(dirname "$0")/lib/common.sh"

start_pinner 8
start_gmemtop --max-folios 16
pinner pin-uring 0 64
fresh_snapshot "$T/snap.json"
got=$(jq -r '"\(.stats.pins - .stats.unpins) \(.stats.lost_map_full) \(.complete)"' "$T/snap.json")
[ "$got" = "64 48 false" ] || fail "pins-unpins/lost_map_full/complete = '$got', expected '64 48 false'"
kill "$GMEMTOP_PID"; wait "$GMEMTOP_PID"; GMEMTOP_PID=
info "full folio map: 48 lost pins counted"

gmemtop -b --max-folios 16 1 4 >"$T/table.txt" 2>&1 &
p=$!
wait_for 60 test -s "$T/table.txt" || fail "gmemtop (table) did not start"
pinner pin-uring 100 32
wait $p
# the last snapshot is the one after the pins
last_table "$T/table.txt" >"$T/last.txt"
grep -q 'INCOMPLETE' "$T/last.txt" || { cat "$T/table.txt"; fail "the table does not say INCOMPLETE"; }
pinner unpin-uring

pinner pin-uring 1000 600
gmemtop -b -j --scan-only --scan-buffer 4096 >"$T/scan.json" || fail "gmemtop --scan-buffer 4096 failed"
got=$(jq -r '"\(.stats.scan_dropped > 0) \(.complete)"' "$T/scan.json")
[ "$got" = "true false" ] || fail "scan_dropped>0/complete = '$got', expected 'true false'"
info "tiny scan ring buffer: $(jq -r .stats.scan_dropped "$T/scan.json") records dropped, counted"
echo "PASS: full map and full ring buffer are counted and make snapshots incomplete"
