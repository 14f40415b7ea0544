# Helpers for job scripts, sourced in dom0 before run.sh.  Guest consoles are logged by
# xenconsoled to $job/console/guest-NAME.log.

# guest_config NAME [MEMORY_MIB [PATTERN_PAGES [SEED [TYPE]]]]: write NAME.cfg for the counting
# guest; TYPE is pv (the default) or pvh.
guest_config() {
    cat >"$job/$1.cfg" <<CFG
name = "$1"
type = "${5:-pv}"
kernel = "$GUEST_KERNEL"
ramdisk = "$GUEST_RAMDISK"
memory = ${2:-96}
vcpus = 1
extra = "console=hvc0 quiet xcfpages=${3:-1024} xcfseed=${4:-5eed0001}"
on_crash = "preserve"
CFG
    echo "$job/$1.cfg"
}

console_log() { echo "$job/console/guest-$1.log"; }

# console_size NAME: how many bytes the guest's console log holds now (a mark for console_wait).
console_size() { wc -c <"$(console_log "$1")" 2>/dev/null || echo 0; }

# console_wait NAME REGEX SECONDS [FROM_BYTE]: wait until a console line after FROM_BYTE matches.
console_wait() {
    local deadline=$(( $(date +%s) + $3 ))
    while [ "$(date +%s)" -le "$deadline" ]; do
        if tail -c +"$(( ${4:-0} + 1 ))" "$(console_log "$1")" 2>/dev/null | grep -Eq "$2"; then
            return 0
        fi
        sleep 1
    done
    echo "xenvm: timed out after $3 s waiting for /$2/ on $1's console" >&2
    return 1
}

# last_tick NAME: the last counter value the guest printed.
last_tick() { grep -Eo 'xcfguest tick [0-9]+' "$(console_log "$1")" | tail -n 1 | cut -d' ' -f3; }

# step NAME COMMAND...: run COMMAND, log its duration and status to $job/steps, keep going
# (the status is also left in $step_rc).
step() {
    local name=$1 start end rc
    shift
    start=$(cut -d' ' -f1 /proc/uptime)
    "$@" && rc=0 || rc=$?
    end=$(cut -d' ' -f1 /proc/uptime)
    step_rc=$rc
    echo "$name $rc $start $end" >>"$job/steps"
    echo "xenvm: step $name rc=$rc ($start -> $end)"
    return 0
}
