#!/bin/sh
# A per-user visit counter kept by drover's session layer.
#
# drover hands the script the user's last snapshot (DROVER_SESSION_DATA,
# base64) and how it was found (DROVER_SESSION_STATUS: hit, rebuild, miss, or
# unavailable when Redis could not be asked: the state may exist, so this is
# not a fresh start); the script answers with the next snapshot in a
# Drover-Session header, which drover refuses after an unavailable lookup.
# ?delete=1 forgets the user, ?renew=1 moves the state to a fresh session id
# (do that after a login), ?pad=N stores N extra bytes (to try size limits),
# ?force=1 stores even after an unavailable lookup (Drover-Session-Force).
count=0
if [ -n "${DROVER_SESSION_DATA:-}" ]; then
	count=$(printf '%s' "$DROVER_SESSION_DATA" | base64 -d 2>/dev/null | head -n 1)
	case "$count" in ''|*[!0-9]*) count=0 ;; esac
fi
count=$((count + 1))
printf 'Content-Type: text/plain\r\n'
case "${QUERY_STRING:-}" in
*delete=1*)
	printf 'Drover-Session-Delete: 1\r\n\r\n'
	printf 'forgotten\n'
	exit 0 ;;
*renew=1*)
	printf 'Drover-Session-Renew: 1\r\n' ;;
*force=1*)
	printf 'Drover-Session-Force: 1\r\n' ;;
esac
pad=$(printf '%s' "${QUERY_STRING:-}" | sed -n 's/.*pad=\([0-9]*\).*/\1/p')
snapshot=$( { printf '%s\n' "$count"; [ -n "$pad" ] && head -c "$pad" /dev/zero | tr '\0' x; } | base64 -w0)
printf 'Drover-Session: %s\r\n\r\n' "$snapshot"
printf 'count=%s status=%s version=%s id=%s\n' "$count" "${DROVER_SESSION_STATUS:-none}" \
	"${DROVER_SESSION_VERSION:-0}" "${DROVER_SESSION_ID:-none}"
