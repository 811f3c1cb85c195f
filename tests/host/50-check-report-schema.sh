#!/usr/bin/env bash
# gmem-check's JSON and JUnit reports validate against their documented
# schemas (doc/gmem-check.schema.json, doc/gmem-check-junit.xsd): the
# reports of every verdict, as the unit test of the report code renders
# them (build/unit/test_checker writes them with GMEM_CHECK_SAMPLES set).
set -uo pipefail
out=${OUTPUT:-build}
unit=$out/unit/test_checker
[ -x "$unit" ] || { echo "FAIL: $unit not built (make $unit)"; exit 1; }
# Debian's python3-jsonschema is the system python's (not a pyenv's)
py=
for p in /usr/bin/python3 python3; do "$p" -c 'import jsonschema' 2>/dev/null && { py=$p; break; }; done
[ -n "$py" ] || { echo "FAIL: python3-jsonschema missing (tools/install-deps)"; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint missing (libxml2-utils: tools/install-deps)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
GMEM_CHECK_SAMPLES=$dir "$unit" >"$dir/unit.log" 2>&1 || { cat "$dir/unit.log"; echo "FAIL: $unit"; exit 1; }
n=$(ls "$dir"/*.json 2>/dev/null | wc -l)
[ "$n" -ge 4 ] || { echo "FAIL: $n JSON reports written, expected one per verdict (4)"; exit 1; }
"$py" - "$dir" doc/gmem-check.schema.json <<'PY' || exit 1
import glob, json, sys
import jsonschema
schema = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    errs = list(v.iter_errors(json.load(open(f))))
    for e in errs:
        print("FAIL: %s: %s at %s" % (f, e.message, list(e.absolute_path)))
    bad += bool(errs)
    if not errs:
        print("ok: %s validates (%s)" % (f.rsplit("/", 1)[1], json.load(open(f))["result"]))
sys.exit(1 if bad else 0)
PY
for f in "$dir"/*.xml; do
	xmllint --noout --schema doc/gmem-check-junit.xsd "$f" 2>&1 | sed "s|$dir/||" || exit 1
	xmllint --noout --schema doc/gmem-check-junit.xsd "$f" 2>/dev/null || { echo "FAIL: $f"; exit 1; }
done
# a report that breaks the schema is caught: the check can fail
"$py" - doc/gmem-check.schema.json "$dir/violation.json" <<'PY' || exit 1
import json, sys, jsonschema
s, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
r["violations"][0]["holder"]["api"] = "telepathy"
try:
    jsonschema.validate(r, s, cls=jsonschema.Draft202012Validator)
except jsonschema.ValidationError:
    print("ok: a report with an unknown API is rejected")
    sys.exit(0)
print("FAIL: the schema accepted an unknown API"); sys.exit(1)
PY
sed -i 's/failures="2"/failures="two"/' "$dir/violation.xml"
if xmllint --noout --schema doc/gmem-check-junit.xsd "$dir/violation.xml" 2>/dev/null; then
	echo "FAIL: the XSD accepted failures=\"two\""; exit 1
fi
echo "ok: a JUnit report with failures=\"two\" is rejected"
