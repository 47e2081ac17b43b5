#!/bin/sh
# Reports, one "key=value" per line, what confinement the container runs under.
echo "uid=$(id -u)"
echo "gid=$(id -g)"
echo "home=$HOME"
echo "capeff=$(awk '/^CapEff/ {print $2}' /proc/self/status)"
echo "nonewprivs=$(awk '/^NoNewPrivs/ {print $2}' /proc/self/status)"
echo "pid1=$(cat /proc/1/comm)"
if touch /probe-root 2>/dev/null; then echo "root_write=ok"; else echo "root_write=denied"; fi
if echo probe > /tmp/probe && [ "$(cat /tmp/probe)" = probe ]; then
    echo "tmp_write=ok"
else
    echo "tmp_write=denied"
fi
echo "input_read=$(cat /input/data.txt)"
if touch /input/new-file 2>/dev/null; then echo "input_write=ok"; else echo "input_write=denied"; fi
if echo probe > /output/probe.txt 2>/dev/null; then echo "output_write=ok"; else echo "output_write=denied"; fi
echo "interfaces=$(awk -F: 'NR > 2 {gsub(/ /, "", $1); print $1}' /proc/net/dev | tr '\n' ' ')"
# Static busybox's wget crashes without a resolver config; nc reports the kernel's answer.
if echo probe | nc -w 3 "${PROBE_HOST:-10.0.0.1}" "${PROBE_PORT:-9}" >/dev/null 2>/tmp/nc.err; then
    echo "network=reached"
else
    echo "network=failed $(head -n 1 /tmp/nc.err)"
fi
echo "shm_kib=$(df -k /dev/shm | awk 'NR == 2 {print $2}')"
echo "tmp_kib=$(df -k /tmp | awk 'NR == 2 {print $2}')"
# cgroup v1 first, then the unified v2 layout.
mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max)
echo "memory_limit=$mem"
memsw=$(cat /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes 2>/dev/null || echo unsupported)
echo "memsw_limit=$memsw"
quota=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d' ' -f1 /sys/fs/cgroup/cpu.max)
period=$(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cut -d' ' -f2 /sys/fs/cgroup/cpu.max)
echo "cpu_quota=$quota/$period"
pids=$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)
echo "pids_max=$pids"
echo "mounts=$(awk '{print $5}' /proc/self/mountinfo | tr '\n' ' ')"
