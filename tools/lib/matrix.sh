# shellcheck shell=bash
# run_matrix WHAT FUNCTION ITEM...: runs FUNCTION ITEM for each ITEM under a
# "=== WHAT ITEM" heading, then prints one line an item, passed or FAILED
# with its time. Returns 1 if any failed. Sourced by the matrix scripts
# (tools/test-python-can, tools/test-pythons).
run_matrix() {
    local what=$1 run=$2 item start status=0 results=()
    shift 2
    for item; do
        printf '\n=== %s %s\n' "$what" "$item"
        start=$SECONDS
        if "$run" "$item"; then
            results+=("$what $item: passed in $((SECONDS - start)) s")
        else
            results+=("$what $item: FAILED after $((SECONDS - start)) s")
            status=1
        fi
    done
    printf '\n'
    printf '%s\n' "${results[@]}"
    return "$status"
}
