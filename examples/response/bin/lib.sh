# Shared by the response scripts: dry run unless VIGIL_RESPONSE_EXECUTE=1.
# Every action is appended to $VIGIL_RESPONSE_LOG (default ./vigil-response.log)
# and printed, whether it ran or not.
LOG=${VIGIL_RESPONSE_LOG:-vigil-response.log}

# act COMMAND ARGS...: runs the command, or says what it would run.
act() {
    line=""
    for a in "$@"; do
        case $a in
            *[!A-Za-z0-9_./:=@,-]*) line="$line '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
            *) line="$line $a" ;;
        esac
    done
    if [ "${VIGIL_RESPONSE_EXECUTE:-0}" = 1 ]; then
        printf '%s EXECUTE (%s %s):%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${VIGIL_RULE_NAME:-}" "${VIGIL_EVENT_ID:-}" "$line" >>"$LOG"
        "$@"
    else
        printf '%s DRY-RUN (%s %s): would run:%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${VIGIL_RULE_NAME:-}" "${VIGIL_EVENT_ID:-}" "$line" >>"$LOG"
        printf 'would run:%s\n' "$line"
    fi
}

need_jq() {
    command -v jq >/dev/null 2>&1 || { echo "jq is required" >&2; exit 1; }
}
