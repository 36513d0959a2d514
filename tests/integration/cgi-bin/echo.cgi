#!/bin/sh
# Echoes the request body exactly, with its length and type in headers.
printf 'Content-Type: application/octet-stream\r\nX-Content-Length: %s\r\nX-Content-Type: %s\r\n\r\n' \
	"${CONTENT_LENGTH-unset}" "${CONTENT_TYPE-unset}"
if [ -n "$CONTENT_LENGTH" ] && [ "$CONTENT_LENGTH" -gt 0 ]; then
	exec head -c "$CONTENT_LENGTH"
fi
