#!/bin/sh
# A well-behaved task: upper-cases every input file into the output folder,
# writes a summary file and reports what it sees of its environment.
set -eu
echo "ok: starting"
echo "ok: greeting=${GREETING:-unset}"
echo "ok: uid=$(id -u) home=$HOME"
count=0
for f in /input/*; do
    [ -f "$f" ] || continue
    tr 'a-z' 'A-Z' < "$f" > "/output/$(basename "$f")"
    count=$((count + 1))
    echo "ok: converted $(basename "$f")"
done
printf 'files: %s\ngreeting: %s\n' "$count" "${GREETING:-unset}" > /summary/summary.yaml
echo "ok: done"
