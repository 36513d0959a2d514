#!/bin/sh
# Not executable on purpose: drover must answer 403.
printf 'Content-Type: text/plain\r\n\r\nnoexec ran\n'
