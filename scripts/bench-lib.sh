# Helpers the bench-*.sh scripts share; sourced, not run:
#   . "$(dirname "$0")/bench-lib.sh"

# The script's name for messages (bench-store, bench-iso, ...).
BENCH_NAME=$(basename "$0" .sh)

# need TOOL: stop with exit 2 unless TOOL is on PATH.
need() { command -v "$1" >/dev/null || { echo "$BENCH_NAME: $1 is required" >&2; exit 2; }; }

# need_gnu_time: stop with exit 2 unless GNU time is installed.
need_gnu_time() { [ -x /usr/bin/time ] || { echo "$BENCH_NAME: GNU time (/usr/bin/time) is required" >&2; exit 2; }; }

# now: seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# median: the middle of the numbers on stdin, one a line.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# ratio A B: A / B with two decimals ("inf" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "inf" }'; }
