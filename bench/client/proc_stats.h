// The server's own cost, read from /proc/<pid> (same machine only).
#pragma once

#include <cstdint>

namespace bench_client {

// Resident set size in KiB (VmRSS), or -1 when unreadable.
int64_t read_rss_kb(int pid);

// User + system CPU seconds the process has used so far, or -1 when unreadable.
double read_cpu_seconds(int pid);

}  // namespace bench_client
