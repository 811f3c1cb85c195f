#!/usr/bin/env bash
# Bad input gets a one-line error saying what to do, and a distinct exit
# code: usage errors 64, a kernel path that does not exist 2 (vmtest), a
# BTF file that does not exist 1 (vmlinux.h.gen).
set -uo pipefail
top=${OUTPUT:-build}/gmemtop
chk=${OUTPUT:-build}/gmem-check
fails=0

expect() { # RC PATTERN CMD...
	local want=$1 pat=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne "$want" ] || ! grep -q -- "$pat" <<<"$out"; then
		echo "FAIL: '$*': exit $rc (want $want), output: $out"
		fails=$((fails + 1))
	else
		echo "ok: '$*' -> $rc: $(printf '%s\n' "$out" | head -n 1)"
	fi
}

expect 64 "bad interval" "$top" -b 0
expect 64 "bad interval" "$top" -b abc
expect 64 "bad count" "$top" -b 1 x5
expect 64 "bad PID" "$top" -p 12x
expect 64 "unknown output format" "$top" -o yaml
expect 64 "unknown output format.*csv" "$top" -o CSV
expect 64 "unknown sort key 'size' (pins, pid, comm, age, file, untracked, extra)" "$top" -s size
expect 64 "requires an argument" "$top" -s
expect 64 "bad cgroup '0': neither a cgroup id" "$top" -c 0
expect 64 "bad cgroup '': neither a cgroup id" "$top" -c ""
expect 64 "bad cgroup '/nonexistent/cg': No such file" "$top" -c /nonexistent/cg
expect 64 "bad cgroup 'no-such-cgroup.$$': No such file" "$top" -c "no-such-cgroup.$$"
expect 64 "bad cgroup '/proc': not a directory on a cgroup2" "$top" -c /proc
expect 64 "bad cgroup '/etc/passwd': not a directory$" "$top" -c /etc/passwd
expect 64 "needs tracking" "$top" -c 1 --scan-only
expect 64 "leave nothing" "$top" --scan-only --no-scan
expect 64 "unexpected argument" "$top" 1 2 3
expect 64 "no command to run" "$chk"
expect 64 "either --pid or a command" "$chk" --pid 1 -- true
expect 64 "--duration goes with --pid" "$chk" --duration 5 -- true
expect 64 "--pid needs a process id, not 'x'" "$chk" --pid x
expect 64 "--grace needs milliseconds (0 to 3600000), not '-1'" "$chk" --grace -1 -- true
expect 64 "--buffer needs a power of two" "$chk" --buffer 5000 -- true
expect 64 "--max-folios needs 16 to 67108864, not '8'" "$chk" --max-folios 8 -- true
expect 64 "--duration needs seconds > 0, not '0'" "$chk" --pid 1 --duration 0
expect 64 "unrecognized option" "$chk" --frobnicate -- true
expect 2 "not found" tools/vmtest/vmtest -k /nonexistent/bzImage
expect 64 "" tools/vmtest/vmtest -k
expect 1 "cannot read BTF" ./vmlinux.h.gen -o /tmp/vmlinux.h.$$ /nonexistent/btf
[ $fails -eq 0 ] || exit 1
echo "PASS: every bad input gets its exit code and a message"
