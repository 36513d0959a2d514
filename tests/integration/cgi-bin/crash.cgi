#!/bin/sh
# Dies from a signal before writing anything.
kill -SEGV $$
