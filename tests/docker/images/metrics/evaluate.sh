#!/bin/sh
# Evaluator "evaluate": accuracy of the predictions against the prepared labels, as YAML.
# Usage: evaluate.sh [predictions] [labels] [output_file]
set -eu
predictions=${1:-/predictions}
labels=${2:-/labels}
output=${3:-/results/results.yaml}
cases=0
correct=0
for f in "$labels"/*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    [ -f "$predictions/$name" ] || { echo "evaluate: no prediction for $name" >&2; exit 1; }
    cases=$((cases + 1))
    [ "$(cat "$predictions/$name")" = "$(cat "$f")" ] && correct=$((correct + 1))
done
[ "$cases" -gt 0 ] || { echo "evaluate: no labels found" >&2; exit 1; }
accuracy=$(awk -v c="$correct" -v n="$cases" 'BEGIN { printf "%.4f", c / n }')
printf 'accuracy: %s\ncases: %s\ncorrect: %s\n' "$accuracy" "$cases" "$correct" > "$output"
echo "evaluate: accuracy $accuracy over $cases cases"
