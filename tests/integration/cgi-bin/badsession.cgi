#!/bin/sh
# Hands drover a session snapshot that is not base64.
printf 'Content-Type: text/plain\r\nDrover-Session: not*base64!\r\n\r\nserved anyway\n'
