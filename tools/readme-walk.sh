#!/usr/bin/env bash
# A walk through the README as a new user takes it, on a fresh clone: install the command, run the
# main job, and check that the run ends with its verdict sentence (issue 14's "done when").
#
#   tools/readme-walk.sh            the README's commands exactly (about 10 min on 2 quiet cores)
#   tools/readme-walk.sh --smoke    the same with a shortened main job (1 teacher epoch, 4 steps,
#                                   2 evaluation seeds of 3 epochs): a few minutes, for checking the walk
#   RAWDISTILL_WALK_SMOKE=1 tools/readme-walk.sh   the same as --smoke
#   KEEP=1 tools/readme-walk.sh     keep the temporary folder (printed) after a pass too
#
# The commands are read from README.md itself (the code blocks under "Set up and run" and "The
# `rawdistill` command"), so the walk follows the README as it is written. Two things differ from a
# new user's machine, on purpose: the clone is of this checkout's committed HEAD (what would be
# pushed), and `dotnet tool install --global` installs into the walk's own --tool-path, so the walk
# never replaces a rawdistill you have installed. The teacher cache is a fresh, empty folder
# (RAWDISTILL_CACHE), as on a new machine: the main job trains its teacher.
set -euo pipefail

smoke="${RAWDISTILL_WALK_SMOKE:-0}"
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "readme-walk: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

src="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rawdistill-walk.XXXXXX")"
pass=0
finish() {
  if [[ $pass == 1 && "${KEEP:-0}" != 1 ]]; then rm -rf "$work"; else echo "readme-walk: files kept in $work" >&2; fi
}
trap finish EXIT
step() { printf '\n== %s\n' "$*" >&2; }

step "fresh clone of $src ($(git -C "$src" rev-parse --short HEAD)) into $work/repo"
git clone --quiet "$src" "$work/repo"
cd "$work/repo"
export RAWDISTILL_CACHE="$work/cache"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The code block that follows a heading line of README.md, one command per line, comments dropped.
block_after() {
  awk -v h="$1" '
    index($0, h) == 1 { found = 1; next }
    found && /^```/ { if (inside) exit; inside = 1; next }
    inside { sub(/[ \t]+#.*$/, ""); if ($0 != "") print }
  ' README.md
}

main_job="$(block_after '## Set up and run' | head -n 1)"
install="$(block_after '### The `rawdistill` command')"
[[ "$main_job" == *" distill"* ]] || { echo "readme-walk: no main-job command found under '## Set up and run' in README.md" >&2; exit 1; }
[[ -n "$install" ]] || { echo "readme-walk: no install commands found under '### The \`rawdistill\` command' in README.md" >&2; exit 1; }

step "install, as the README says (dotnet tool install into $work/tools instead of --global)"
while IFS= read -r cmd; do
  [[ "$cmd" == *"tool update"* ]] && continue   # "after pulling newer code": not on a fresh machine
  cmd="${cmd//--global/--tool-path $work/tools}"
  echo "\$ $cmd" >&2
  bash -c "$cmd" >&2
done <<< "$install"
"$work/tools/rawdistill" --version >&2
"$work/tools/rawdistill" help distill > "$work/help.txt"
grep -q "rawdistill distill --resume runs/krr-st" "$work/help.txt" || { echo "readme-walk: the installed command's help lacks its examples" >&2; exit 1; }

if [[ "$smoke" == 1 ]]; then
  main_job+=" --teacher-epochs 1 --steps 4 --eval-seeds 2 --eval-epochs 3"
  step "the main job, SHORTENED for a smoke run: $main_job"
else
  step "the main job, as the README says: $main_job"
fi
start=$(date +%s)
# stdout (table, verdict, report path) to main.out; stderr (plan, progress) to the screen and main.err.
set +e
{ bash -c "$main_job" 2>&1 1>"$work/main.out" | tee "$work/main.err" >&2; rc=${PIPESTATUS[0]}; }
set -e
echo "(exit $rc after $(( $(date +%s) - start )) s)" >&2
cat "$work/main.out"
[[ $rc == 0 ]] || { echo "readme-walk: FAILED — the main job exited with $rc" >&2; exit 1; }

# The run's output ends with the verdict (its first sentence), the note on the interval, and the report's path.
verdict="$(tail -n 8 "$work/main.out" | grep -m 1 '^\*\*Verdict\*\* — ' || true)"
last="$(tail -n 1 "$work/main.out")"
report="$(sed -n 's/^report: \([^ ]*\) .*/\1/p' <<< "$last")"
[[ -n "$verdict" ]] || { echo "readme-walk: FAILED — the main job's output does not end with a verdict sentence" >&2; exit 1; }
[[ -n "$report" && -f "$report" ]] || { echo "readme-walk: FAILED — no report at the path the last line names ('$last')" >&2; exit 1; }
grep -q '\*\*Verdict\*\* — ' "$report" || { echo "readme-walk: FAILED — $report has no verdict" >&2; exit 1; }
grep -q '^plan: train the teacher' "$work/main.err" || { echo "readme-walk: FAILED — no plan line announced the teacher training" >&2; exit 1; }

pass=1
echo
echo "readme-walk: PASS$([[ "$smoke" == 1 ]] && echo ' (smoke: shortened main job)') — installed rawdistill from a fresh clone, ran the README's main job, and it ended with its verdict: ${verdict#\*\*Verdict\*\* — }"
