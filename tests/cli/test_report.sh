#!/usr/bin/env bash
# vigie report: a fixture store (tests/tools/make_store_fixture.py: 6 organizations, 2
# victims, a campaign, gaps, a hostile tenant name and event) becomes one HTML page with
# every section, nothing executable or remote, the hostile strings escaped; headless
# Chromium renders it into a screenshot that is not blank (tests/tools/png_stats.py).
# Also: an empty store says so; a file that is not a store, a newer store, a missing file
# and bad options fail with the documented exit codes.
source "$(dirname "$0")/lib.sh"
FIX="$ROOT/tests/tools/make_store_fixture.py"
PNG="$ROOT/tests/tools/png_stats.py"

python3 "$FIX" "$T/store.db" || { bad "fixture store not built"; finish; exit 1; }
"$VIGIE" report --db "$T/store.db" -o "$T/report.html" --title 'Case 2023-06 <b>"mail"</b>' 2>"$T/err"
rc=$?
check "report exits 0 ($(cat "$T/err"))" [ $rc = 0 ]
H="$T/report.html"
for id in summary campaigns organizations timeline timeline-chart top-alerts gaps runs \
          alert-1 campaign-1 total-messages; do
  check "element id=\"$id\"" grep -q "id=\"$id\"" "$H"
done
check "one document" [ "$(grep -c '<html' "$H")" = 1 ]
check "inline CSS" grep -q '<style>' "$H"
check "inline SVG drawn" grep -q '<svg class="chart"' "$H"
check "no script at all" bash -c "! grep -qi '<script' '$H'"
check "no script attribute handler" bash -c "! grep -qiE '<[^>]+ on[a-z]+=' '$H'"
check "no http(s) URL at all" bash -c "! grep -qiE 'https?:' '$H'"
check "no remote or file reference" bash -c "! grep -qiE '(src|href)=\"[^#]|url\\([^#]|@import' '$H'"
check "hostile tenant escaped" grep -qF 'fabrikam.example&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;' "$H"
check "hostile event escaped inside the raw record" grep -qF '&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;' "$H"
check "title escaped" grep -qF '<h1>Case 2023-06 &lt;b&gt;&quot;mail&quot;&lt;/b&gt;</h1>' "$H"
check "6 organizations" grep -qE 'id="total-organizations"><div class="n">6<' "$H"
check "2 flagged" grep -qE 'id="total-flagged"><div class="n">2<' "$H"
check "messages read summed over actor sessions" grep -qE 'id="total-messages"><div class="n">670<' "$H"
check "campaign with its techniques" grep -q 'T1114.002' "$H"
check "campaign indicator" grep -q '51.89.156.153' "$H"
check "top alert is the critical session" bash -c "grep -A3 'id=\"alert-1\"' '$H' | grep -q 'lv-critical'"
check "raw event in details" grep -q '<details><summary>Raw event</summary><pre>{' "$H"
check "evidence with sha256" grep -qE 'sha256 <code>[0-9a-f]{64}</code>' "$H"
check "gaps listed" grep -q 'not linkable to sign-ins' "$H"
check "--top limits the list" bash -c "'$VIGIE' report --db '$T/store.db' -o '$T/top3.html' --top 3 &&
  grep -q 'id=\"alert-3\"' '$T/top3.html' && ! grep -q 'id=\"alert-4\"' '$T/top3.html'"

# Rendering: headless Chromium must be there (scripts/setup.sh check installs it).
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ]; then
  bad "chromium not found: run scripts/setup.sh check (the report test renders the page)"
else
  shot() { # shot HTML PNG
    timeout 120 "$CHROME" --headless --no-sandbox --disable-gpu --hide-scrollbars \
      --user-data-dir="$T/chrome" --screenshot="$2" --window-size=1280,2000 "file://$1" \
      >"$T/chrome.log" 2>&1
  }
  shot "$H" "$T/report.png"
  check "chromium wrote a screenshot ($(tail -1 "$T/chrome.log"))" [ -s "$T/report.png" ]
  python3 "$PNG" "$T/report.png" --min-colors 16 --min-nonwhite 0.05 \
    --color c62828 --color 14213d --min-color-pixels 200 >"$T/stats.json"
  rc=$?
  check "screenshot is not blank: $(cat "$T/stats.json")" [ $rc = 0 ]
  # the checker itself: a blank page must fail it
  printf '<!DOCTYPE html><html><body></body></html>\n' >"$T/blank.html"
  shot "$T/blank.html" "$T/blank.png"
  python3 "$PNG" "$T/blank.png" --min-colors 16 --min-nonwhite 0.05 >/dev/null 2>&1
  check "png_stats rejects a blank screenshot" [ $? = 1 ]
fi

# An empty store: a page that says so.
python3 "$FIX" --empty "$T/empty.db"
"$VIGIE" report --db "$T/empty.db" -o "$T/empty.html" 2>"$T/err"
rc=$?
check "empty store: exit 0 ($(cat "$T/err"))" [ $rc = 0 ]
check "empty store: says no alerts" grep -q 'No alerts in this store' "$T/empty.html"
check "empty store: every section still there" bash -c "grep -q 'id=\"gaps\"' '$T/empty.html' &&
  grep -q 'id=\"timeline\"' '$T/empty.html' && grep -q 'id=\"campaigns\"' '$T/empty.html'"

# Not a store, a newer store, no file, bad usage.
printf 'not a database\n' >"$T/plain.txt"
"$VIGIE" report --db "$T/plain.txt" -o "$T/x.html" 2>"$T/err"
check "text file: exit 2" [ $? = 2 ]
check "text file: says not a vigie store" grep -q 'not a vigie store' "$T/err"
check "text file: no output left" [ ! -e "$T/x.html" ]
python3 -c 'import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute("CREATE TABLE t(x)"); d.commit()' "$T/other.db"
"$VIGIE" report --db "$T/other.db" -o "$T/x.html" 2>"$T/err"
check "other SQLite file: exit 2 and says why" bash -c "[ $? = 2 ] && grep -q 'not a vigie store' '$T/err'"
python3 "$FIX" --user-version 3 "$T/newer.db"
"$VIGIE" report --db "$T/newer.db" -o "$T/x.html" 2>"$T/err"
check "newer store: exit 2 and says newer" bash -c "[ $? = 2 ] && grep -q 'newer vigie' '$T/err'"
"$VIGIE" report --db "$T/missing.db" -o "$T/x.html" 2>"$T/err"
check "missing store: exit 4" [ $? = 4 ]
check "missing store: not created by the read-only open" [ ! -e "$T/missing.db" ]
"$VIGIE" report --db "$T/store.db" 2>/dev/null
check "no -o: usage error" [ $? = 2 ]
"$VIGIE" report --db "$T/store.db" -o "$T/x.html" --top 0 2>/dev/null
check "--top 0: usage error" [ $? = 2 ]
"$VIGIE" report --db "$T/store.db" -o "$T/nodir/x.html" 2>/dev/null
check "unwritable output: exit 4" [ $? = 4 ]
finish
