#!/bin/sh
# Model "infer": predicts "positive" for a prepared value of $THRESHOLD (default 50) or
# more, else "negative".
# Usage: infer.sh [data] [predictions]
set -eu
data=${1:-/data/prepared}
predictions=${2:-/predictions}
threshold=${THRESHOLD:-50}
for f in "$data"/*.txt; do
    [ -f "$f" ] || continue
    name=$(basename "$f")
    if [ "$(cat "$f")" -ge "$threshold" ]; then echo positive; else echo negative; fi > "$predictions/$name"
    echo "infer: predicted $name"
done
