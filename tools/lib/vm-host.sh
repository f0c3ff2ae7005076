# shellcheck shell=bash
# The host side that tools/vcan-run and tools/can-run share: relaying the
# VM's output, the watchdog, cleanup and signals. The sourcing script sets
# STATE (its private temp dir) once it has made it, and defines stop_vm, which
# stops its VM and returns at once if none runs.

WATCHDOG=''
RELAYS=()     # cat processes copying the VM's output to our stdout and stderr

# The VM writes CMD's stdout and stderr into FIFOs in $STATE; cat copies them
# to ours, wherever they go.
start_relays() {
    mkfifo "$STATE/stdout" "$STATE/stderr"
    cat "$STATE/stdout" &
    RELAYS+=($!)
    cat "$STATE/stderr" >&2 &
    RELAYS+=($!)
}

# After SECS seconds, marks $STATE/timed-out and stops the VM.
start_watchdog() {
    local secs=$1
    (
        trap 'kill "${sleeper-}" 2>/dev/null; wait; exit 0' TERM
        sleep "$secs" &
        sleeper=$!
        wait "$sleeper" || exit 0
        : >"$STATE/timed-out"
        stop_vm
    ) &
    WATCHDOG=$!
}

# shellcheck disable=SC2317  # only reached through a trap
cleanup() {
    stop_vm
    if [[ -n $WATCHDOG ]]; then
        kill "$WATCHDOG" 2>/dev/null || true
        wait "$WATCHDOG" 2>/dev/null || true
    fi
    ((${#RELAYS[@]} == 0)) || kill "${RELAYS[@]}" 2>/dev/null || true
    [[ -z $STATE ]] || rm -rf -- "$STATE"
}

# shellcheck disable=SC2317  # only reached through a trap
on_signal() {
    trap - INT TERM HUP
    stop_vm
    exit "$((128 + $1))"   # the EXIT trap cleans up
}
