#!/bin/sh
# Prints the CGI environment, one NAME=value per line, then the request body.
printf 'Content-Type: text/plain\r\n\r\n'
env | LC_ALL=C sort
if [ -n "$CONTENT_LENGTH" ] && [ "$CONTENT_LENGTH" -gt 0 ]; then
	printf -- '--- body ---\n'
	head -c "$CONTENT_LENGTH"
fi
