#!/bin/sh
# A classic fork bomb: only the pids limit keeps it from eating the host.
echo "forkbomb: starting"
bomb() {
    bomb | bomb &
}
bomb
# This shell also fills the pids left with sleepers: it soon cannot fork, says
# "can't fork" and ends, which ends the container.
while :; do
    sleep 60 &
done
