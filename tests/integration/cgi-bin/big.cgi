#!/usr/bin/python3
# Streams QUERY_STRING megabytes (default 20) of a position-dependent pattern
# with no Content-Length, so the response is chunked.
import os
import sys
mb = int(os.environ.get("QUERY_STRING") or "20")
out = sys.stdout.buffer
out.write(b"Content-Type: application/octet-stream\r\n\r\n")
for i in range(mb * 16):
    line = b"%015d\n" % i
    out.write(line * 4096)
out.flush()
