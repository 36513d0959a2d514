#!/bin/sh
# Writes something that is not a CGI response. QUERY_STRING picks the kind.
case $QUERY_STRING in
nohead) printf 'Hello without any header\n' ;;
binary) printf '\000\001\002\377\376garbage\000\n\000' ;;
partial) printf 'Content-Type: text/plain\r\nX-Half: yes\r\n' ;;
empty) : ;;
badstatus) printf 'Status: abc\r\nContent-Type: text/plain\r\n\r\nbody\n' ;;
*) printf 'no colon here\r\nnor here\r\n' ;;
esac
