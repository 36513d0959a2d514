#!/bin/sh
# Answers with the pid of the worker that ran it (the script's parent).
printf 'Content-Type: text/plain\r\n\r\n%s\n' "$PPID"
