#!/bin/sh
# Output in pieces with pauses and no length: the client sees it as it comes.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'first\n'
sleep 0.6
printf 'second\n'
