#!/bin/sh
# Source checks CI runs beside the tests:
#  1. banned C calls (unbounded or unchecked: use the bounded/checked forms);
#  2. includes follow the data flow one way (DESIGN.md): a module may include
#     only modules to its left in  core json|geo event input|match detect finding ...
#  3. no mutable globals outside src/cli/main.c is a review rule, not checked here.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 1
fail=0
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|strncat|gets|strtok|atoi)[[:space:]]*\(' src tests fuzz bench --include='*.c' --include='*.h' 2>/dev/null)
if [ -n "$hits" ]; then
    echo "banned calls:"; echo "$hits"; fail=1
fi
rank() {
    case $1 in
        core) echo 0 ;; json|geo) echo 1 ;; event) echo 2 ;; input|match) echo 3 ;; detect) echo 4 ;;
        finding) echo 5 ;; bus|store) echo 6 ;; query|investigate) echo 7 ;; cli) echo 9 ;; *) echo 8 ;;
    esac
}
for f in $(find src -name '*.[ch]'); do
    mod=$(echo "$f" | cut -d/ -f2)
    r=$(rank "$mod")
    for inc in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$f"); do
        [ "$inc" = "$mod" ] && continue
        ri=$(rank "$inc")
        if [ "$ri" -ge "$r" ] && [ "$mod" != cli ]; then
            echo "$f: includes $inc/, which is not upstream of $mod/"; fail=1
        fi
    done
done
[ $fail = 0 ] && echo "source checks: ok"
exit $fail
