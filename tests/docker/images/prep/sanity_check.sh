#!/bin/sh
# Data preparator "sanity_check": every prepared case is a number 0-100 with a valid label.
# Usage: sanity_check.sh [data] [labels]
set -eu
data=${1:-/data/prepared}
labels=${2:-/data/prepared_labels}
count=0
for f in "$data"/*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    value=$(cat "$f")
    if [ "$value" -lt 0 ] || [ "$value" -gt 100 ]; then
        echo "sanity_check: $name is out of range: $value" >&2
        exit 1
    fi
    label=$(cat "$labels/$name" 2>/dev/null || true)
    case "$label" in
        positive | negative) ;;
        *) echo "sanity_check: $name has a bad label: '$label'" >&2; exit 1 ;;
    esac
    count=$((count + 1))
done
[ "$count" -gt 0 ] || { echo "sanity_check: no prepared cases" >&2; exit 1; }
echo "sanity_check: $count cases look fine"
