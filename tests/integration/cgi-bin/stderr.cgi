#!/bin/sh
# Writes one line to stderr and a normal response.
printf 'itest-stderr-marker %s\n' "$QUERY_STRING" >&2
printf 'Content-Type: text/plain\r\n\r\nok\n'
