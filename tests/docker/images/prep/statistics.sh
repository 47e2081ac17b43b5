#!/bin/sh
# Data preparator "statistics": writes counts and the mean value as YAML.
# Usage: statistics.sh [data] [labels] [output_file]
set -eu
data=${1:-/data/prepared}
labels=${2:-/data/prepared_labels}
output=${3:-/stats/statistics.yaml}
cases=0
positive=0
total=0
for f in "$data"/*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    cases=$((cases + 1))
    total=$((total + $(cat "$f")))
    [ "$(cat "$labels/$name")" = positive ] && positive=$((positive + 1))
done
mean=$(awk -v t="$total" -v n="$cases" 'BEGIN { printf "%.4f", (n ? t / n : 0) }')
printf 'cases: %s\npositive: %s\nnegative: %s\nmean_value: %s\n' \
    "$cases" "$positive" "$((cases - positive))" "$mean" > "$output"
echo "statistics: written for $cases cases"
