/*
 * procstats: what the kernel knows about a process (open and maximum file
 * descriptors, resident and virtual memory, CPU time, start time), read from
 * /proc for the process_* metrics and the per-worker fd gauge.
 *
 * Reads into stack buffers with plain system calls: it must not allocate,
 * so the metrics path keeps its promise, and must not block on anything
 * but /proc.
 */
#ifndef DROVER_PROCSTATS_H
#define DROVER_PROCSTATS_H

#include <stdint.h>
#include <sys/types.h>

struct procstats {
	int64_t open_fds;          /* -1 when unknown */
	int64_t max_fds;           /* soft RLIMIT_NOFILE (own process only), -1 when unknown */
	uint64_t rss_bytes, vsize_bytes;
	double cpu_seconds;        /* user + system */
	double start_time;         /* seconds since the epoch */
};

/* Fills st for pid (0: this process). Returns 0, or -1 if /proc cannot tell. */
int procstats_read(pid_t pid, struct procstats *st);
/* Open descriptors of pid (0: this process), or -1. */
int64_t procstats_open_fds(pid_t pid);

#endif
