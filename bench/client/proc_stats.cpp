#include "proc_stats.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace bench_client {

int64_t read_rss_kb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoll(line.substr(6));
  }
  return -1;
}

double read_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat))
    return -1;
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos)
    return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  // After ')' come field 3 (state) onwards; utime and stime are fields 14 and 15.
  for (int i = 3; i < 14 && rest >> field; ++i) {
  }
  long long utime = 0;
  long long stime = 0;
  if (!(rest >> utime >> stime))
    return -1;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace bench_client
