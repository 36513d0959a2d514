#!/bin/sh
# Sleeps before answering. QUERY_STRING: sleep=SECONDS[&pidfile=PATH]
# The pidfile gets "SHELLPID SLEEPPID" so a test can check both are gone.
n=1
pidfile=
for kv in $(printf '%s' "$QUERY_STRING" | tr '&' ' '); do
	case $kv in
	sleep=*) n=${kv#sleep=} ;;
	pidfile=*) pidfile=${kv#pidfile=} ;;
	esac
done
sleep "$n" &
child=$!
if [ -n "$pidfile" ]; then
	printf '%s %s\n' "$$" "$child" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
fi
wait "$child"
printf 'Content-Type: text/plain\r\n\r\n'
printf 'slept %s\n' "$n"
