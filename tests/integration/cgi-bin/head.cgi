#!/bin/sh
# Response heads that test how drover reads an app's head. QUERY_STRING picks one.
case $QUERY_STRING in
s101) printf 'Status: 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n' ;;
s100) printf 'Status: 100 Continue\r\n\r\n' ;;
early) printf 'Status: 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nDrover-Session: eA==\r\n\r\n'
	printf 'Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nfinal\n' ;;
earlyloop) i=0; while [ $i -lt 20 ]; do printf 'Status: 103\r\nLink: </a>\r\n\r\n'; i=$((i + 1)); done
	printf 'Content-Type: text/plain\r\n\r\nnever\n' ;;
custom) printf 'Status: 299 Custom Thing\r\nContent-Type: text/plain\r\n\r\ncustom\n' ;;
clplus) printf 'Content-Type: text/plain\r\nContent-Length: +4\r\n\r\nabcd' ;;
clspace) printf 'Content-Type: text/plain\r\nContent-Length: 4 4\r\n\r\nabcd' ;;
clhuge) printf 'Content-Type: text/plain\r\nContent-Length: 99999999999999999999\r\n\r\nabcd' ;;
ctl) printf 'Content-Type: text/plain\r\nX-VT: a\013b\r\nX-ESC: a\033[31mb\r\nX-DEL: a\177b\r\nX-Tab: a\tb\r\n\r\nok\n' ;;
*) printf 'Content-Type: text/plain\r\n\r\nplain\n' ;;
esac
