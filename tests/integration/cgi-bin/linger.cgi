#!/bin/sh
# Answers, closes its stdout and keeps running. QUERY_STRING: pidfile=PATH
# (gets the script's pid before it answers).
pidfile=${QUERY_STRING#pidfile=}
printf '%s\n' "$$" > "$pidfile.tmp" && mv "$pidfile.tmp" "$pidfile"
printf 'Content-Type: text/plain\r\n\r\nbye\n'
exec >&-
sleep 30
