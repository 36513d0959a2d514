#!/bin/sh
# Reads the whole request body; answers CONTENT_LENGTH as given and the body's SHA-256.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'CONTENT_LENGTH=%s\n' "${CONTENT_LENGTH-unset}"
printf 'sha256=%s\n' "$(sha256sum | cut -d' ' -f1)"
