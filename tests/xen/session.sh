#!/bin/sh
# Runs in dom0 inside the host's root: start the Xen daemons, run the job's script with the
# helpers of lib.sh, record its exit status.  Everything it writes goes to /tmp/xenvm.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PYTHONPATH=/usr/lib/xen-4.17/lib/python  # libxl runs convert-legacy-stream for legacy files
job=/tmp/xenvm
mkdir -p /tmp/scratch /var/lib/xen /var/lib/xenstored /var/log/xen /var/run/xen "$job/out" "$job/console"
exec >"$job/session.log" 2>&1
echo "xenvm: session start $(date +%s.%N) uptime $(cut -d' ' -f1 /proc/uptime)"
xenstored --pid-file /var/run/xenstored.pid
/usr/lib/xen-4.17/bin/xen-init-dom0
xenconsoled --pid-file=/var/run/xenconsoled.pid --log=guest --log-dir="$job/console" --timestamp=guest
echo "xenvm: daemons up, uptime $(cut -d' ' -f1 /proc/uptime)"
( cd "$job" && . ./env.sh && . ./lib.sh && set -e && . ./run.sh )
echo $? >"$job/rc"
echo "xenvm: session end, uptime $(cut -d' ' -f1 /proc/uptime)"
