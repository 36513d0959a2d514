#!/bin/sh
# The shell CGI script every server runs in the "sh" CGI rows of bench/run.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'Hello from a shell CGI script\n'
