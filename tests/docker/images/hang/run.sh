#!/bin/sh
# Never ends by itself: for wall-clock limits and cancelling.
echo "hang: sleeping forever"
while true; do
    sleep 3600
done
