#!/bin/sh
# Redirects. QUERY_STRING: local (default), abs, loop, status (302 with a local path).
case $QUERY_STRING in
abs) printf 'Location: http://example.invalid/elsewhere\r\n\r\n' ;;
loop) printf 'Location: /redirect.cgi?loop\r\n\r\n' ;;
status) printf 'Status: 302 Found\r\nLocation: /pid.cgi\r\nContent-Type: text/plain\r\n\r\nmoved\n' ;;
*) printf 'Location: /vars.cgi/via?redirected=1\r\n\r\n' ;;
esac
