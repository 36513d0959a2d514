#!/bin/sh
# Answers with the script's own capability sets, as /proc shows them.
printf 'Content-Type: text/plain\r\n\r\n'
grep '^Cap' /proc/self/status
