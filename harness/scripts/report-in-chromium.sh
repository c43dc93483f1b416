#!/usr/bin/env bash
# The trend report in a real browser: renders the committed history of every
# machine (and a synthetic year) with `soda-perf report`, loads each page
# in headless Chromium at 1280 px and fails when the page logs a console
# message, a chart is not visible, or anything is wider than the window or
# its table cell (cut off). Keeps a screenshot of each page in target/report-check/ (the CI
# artifact). Installs Debian's `chromium` with apt-get when it is missing
# and apt-get can; otherwise says why and skips (exit 0).
#
#   bash harness/scripts/report-in-chromium.sh [soda-perf binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
perf=${1:-target/release/soda-perf}
out=target/report-check
mkdir -p "$out"

# Debian's chromium; GitHub's Ubuntu runners ship Google Chrome.
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || command -v google-chrome-stable || true)
if [ -z "$browser" ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "chromium missing: apt-get install chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >"$out/apt.log" 2>&1 \
      || { apt-get update >>"$out/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core >>"$out/apt.log" 2>&1; } \
      || true
    browser=$(command -v chromium || true)
  fi
  if [ -z "$browser" ]; then
    echo "SKIPPED: no chromium, and it cannot be installed here (needs root and apt-get; see $out/apt.log). The report was not checked in a browser."
    exit 0
  fi
fi
[ -x "$perf" ] || cargo build --release -p harness

# The checker, appended to a copy of each page (the report itself has no
# script): it writes its findings into <body data-check="…"> for --dump-dom.
checker='<script>
addEventListener("load", () => {
  const problems = [];
  const width = window.innerWidth;
  if (document.documentElement.scrollWidth > width) problems.push("page wider than the window: " + document.documentElement.scrollWidth);
  document.querySelectorAll("svg").forEach((svg, i) => {
    const r = svg.getBoundingClientRect();
    if (r.width < 20 || r.height < 10) problems.push("svg " + i + " not visible (" + r.width + "x" + r.height + ")");
    if (r.right > width + 0.5) problems.push("svg " + i + " cut off at " + r.right);
  });
  document.querySelectorAll(".panel").forEach((panel, i) => {
    if (panel.scrollWidth > panel.clientWidth + 1) problems.push("table panel " + i + " scrolls: " + panel.scrollWidth + " > " + panel.clientWidth);
  });
  document.querySelectorAll("td, th").forEach((cell) => {
    if (cell.scrollWidth > cell.clientWidth + 1) problems.push("cell cut off: " + cell.textContent.slice(0, 40));
  });
  document.body.dataset.check = problems.length ? problems.slice(0, 20).join(" | ") : "ok";
  document.body.dataset.charts = document.querySelectorAll("svg").length;
});
</script>'

status=0
check_page() {
  local name=$1 page=$2
  local copy="$out/$name.check.html"
  sed 's#</body>#'"$(printf '%s' "$checker" | tr '\n' ' ' | sed 's/[&#]/\\&/g')"'</body>#' "$page" >"$copy"
  local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900)
  local dom
  dom=$("$browser" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=5000 --dump-dom "file://$PWD/$copy" 2>"$out/$name.console.log")
  "$browser" "${flags[@]}" --window-size=1280,2400 --screenshot="$out/$name.png" "file://$PWD/$page" >/dev/null 2>&1 || true
  local verdict charts
  verdict=$(printf '%s' "$dom" | grep -o 'data-check="[^"]*"' | head -1 | sed 's/data-check="//; s/"$//')
  charts=$(printf '%s' "$dom" | grep -o 'data-charts="[0-9]*"' | head -1 | tr -dc 0-9)
  # The page has no script and the checker logs nothing: any console line
  # (an error, a resource that failed to load) is a problem. Chromium
  # writes console.error and console.log alike, as INFO:CONSOLE.
  local errors
  errors=$(grep -c 'CONSOLE' "$out/$name.console.log" || true)
  if [ "$verdict" = ok ] && [ "${errors:-0}" = 0 ]; then
    echo "ok: $name ($charts charts visible, nothing cut off at 1280 px, no console errors; screenshot $out/$name.png)"
  else
    echo "FAILED: $name: ${verdict:-the checker did not run} (console errors: ${errors:-?}; see $out/$name.console.log)"
    status=1
  fi
}

for history in reports/history/*.jsonl; do
  case "$history" in *.checks.jsonl|*.sweep.jsonl) continue ;; esac
  name=$(basename "$history" .jsonl)
  "$perf" report --history "$history" --out "$out/$name.html" -q >/dev/null
  check_page "$name" "$out/$name.html"
done
exit $status
