#!/bin/sh
# Data preparator "prepare": each raw case <name>.txt holds a number 0-100 and each label
# <name>.txt "positive" or "negative"; both are trimmed into the prepared folders.
# Usage: prepare.sh [data] [labels] [out] [out_labels]
set -eu
data=${1:-/data/raw}
labels=${2:-/data/labels}
out=${3:-/data/out}
out_labels=${4:-/data/out_labels}
count=0
for f in "$data"/*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    value=$(tr -d ' \t\r\n' < "$f")
    case "$value" in
        '' | *[!0-9]*) echo "prepare: $name does not hold a number" >&2; exit 1 ;;
    esac
    [ -f "$labels/$name" ] || { echo "prepare: no label for $name" >&2; exit 1; }
    echo "$value" > "$out/$name"
    tr -d ' \t\r\n' < "$labels/$name" > "$out_labels/$name"
    echo >> "$out_labels/$name"
    count=$((count + 1))
    echo "prepare: prepared $name"
done
[ "$count" -gt 0 ] || { echo "prepare: no cases found in $data" >&2; exit 1; }
echo "prepare: $count cases"
