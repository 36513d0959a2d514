#!/bin/sh
# A custom status, a custom header and a Content-Length.
printf 'Status: 418 I am a teapot\r\nContent-Type: text/plain\r\nX-Custom: custom value\r\nContent-Length: 7\r\n\r\nteapot\n'
