#!/bin/sh
# Header values carrying a bare CR: must never reach the client as a header.
printf 'Content-Type: text/plain\r\nX-Evil: a\rInjected: yes\r\nX-Good: fine\r\n\r\nbody\n'
