#include "output.h"

#include "saturation.h"

#include <cstdio>
#include <fstream>

namespace bench_client {

namespace {

std::string format_latency(int64_t ns) {
  char buf[32];
  const double us = static_cast<double>(ns) / 1e3;
  if (us < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fus", us);
  } else if (us < 1e6) {
    std::snprintf(buf, sizeof buf, "%.2fms", us / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", us / 1e6);
  }
  return buf;
}

double per_second(uint64_t n, double elapsed) {
  return elapsed > 0 ? static_cast<double>(n) / elapsed : 0.0;
}

std::string errors_text(const kind_results& r) {
  std::string out;
  for (const auto& [name, n] : r.errors)
    out += (out.empty() ? "" : " ") + name + "=" + std::to_string(n);
  return out.empty() ? "0" : out;
}

// Streams held for the whole run make no calls per second, and untimed
// kinds have no latency: both show as "-".
void print_row(const std::string& name, const kind_results& r, double elapsed, bool held) {
  const auto& h = r.latency;
  const auto lat = [&](double q) {
    return h.count() ? format_latency(h.quantile(q)) : std::string("-");
  };
  char calls[32] = "-";
  if (!held)
    std::snprintf(calls, sizeof calls, "%.1f", per_second(r.calls, elapsed));
  std::printf("%-14s %11s %11.1f %9s %9s %9s %9s %9s  %s\n", name.c_str(), calls,
              per_second(r.messages, elapsed), lat(0.5).c_str(), lat(0.9).c_str(),
              lat(0.99).c_str(), lat(0.999).c_str(),
              h.count() ? format_latency(h.max()).c_str() : "-", errors_text(r).c_str());
}

bool holds_streams(const options& o) {
  return o.scenario == "open-streams" || o.scenario == "slow-reader" || o.scenario == "bidi";
}

// db-saturation's kinds come from two phases, and the server's CPU from the
// second only: a total or a CPU per call across them would mean nothing.
bool two_phases(const options& o) {
  return o.scenario == "db-saturation";
}

nlohmann::json kind_json(const kind_results& r, double elapsed) {
  const auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  const auto& h = r.latency;
  return {{"calls", r.calls},
          {"messages", r.messages},
          {"bytes", r.bytes},
          {"calls_per_s", per_second(r.calls, elapsed)},
          {"msgs_per_s", per_second(r.messages, elapsed)},
          {"latency_us",
           {{"samples", h.count()},
            {"mean", h.mean() / 1e3},
            {"p50", us(h.quantile(0.5))},
            {"p90", us(h.quantile(0.9))},
            {"p99", us(h.quantile(0.99))},
            {"p99.9", us(h.quantile(0.999))},
            {"max", us(h.max())}}},
          {"errors", r.errors},
          {"error_count", r.error_count()}};
}

}  // namespace

kind_results total_of(const run_report& rep) {
  kind_results total;
  for (const auto& entry : rep.kinds) total.merge(entry.second);
  return total;
}

void print_table(const run_report& rep) {
  const auto& o = rep.opts;
  std::printf("troupe-bench %s -> %s%s%s: concurrency %d, channels %d, threads %d, payload %d B, ",
              o.scenario.c_str(), o.target.c_str(), o.label.empty() ? "" : " ", o.label.c_str(),
              o.concurrency, rep.channels, rep.threads, o.payload);
  if (o.rate > 0)
    std::printf("open loop %.0f/s, ", o.rate);
  std::printf("measured %.1f s\n", rep.elapsed_s);
  if (!rep.failure.empty())
    std::printf("FAILED: %s\n", rep.failure.c_str());
  std::printf("%-14s %11s %11s %9s %9s %9s %9s %9s  %s\n", "kind", "calls/s", "msgs/s", "p50",
              "p90", "p99", "p99.9", "max", "errors");
  const bool held = holds_streams(o);
  for (const auto& [kind, r] : rep.kinds) print_row(kind, r, rep.elapsed_s, held);
  if (rep.kinds.size() > 1 && !two_phases(o))
    print_row("total", total_of(rep), rep.elapsed_s, held);
  if (o.scenario == "db" && o.db_method == "upload-logs")
    std::printf("(upload-logs msgs/s are log rows committed per second)\n");
  if (two_phases(o)) {
    std::printf("unary p99 with %d calls of %d ms queries / alone: %.2fx\n", o.db_load, o.db_ms,
                saturation_p99_ratio(rep));
  }
  if (held)
    std::printf("streams ended as expected: %llu\n",
                static_cast<unsigned long long>(total_of(rep).calls));
  if (o.scenario == "bidi")
    std::printf("(bidi latency is per message round trip)\n");
  if (rep.dropped)
    std::printf("open loop: %llu calls due but never started\n",
                static_cast<unsigned long long>(rep.dropped));
  if (o.scenario == "open-streams")
    std::printf("streams established: %d of %d\n", rep.established, o.concurrency);
  if (!rep.server)
    return;
  const auto& s = *rep.server;
  const auto total = total_of(rep);
  std::printf("server pid %d: rss %.1f MiB at start, %.1f MiB peak, %.1f MiB at end", s.pid,
              s.rss_kb_start / 1024.0, s.rss_kb_peak / 1024.0, s.rss_kb_end / 1024.0);
  if (s.cpu_s >= 0) {
    std::printf("; cpu %.2f s", s.cpu_s);
    // Streams that carry many messages are better compared per message.
    if (total.calls > 0 && !held && !two_phases(o)) {
      std::printf(" = %.3f s per 1k calls", s.cpu_s / static_cast<double>(total.calls) * 1000.0);
    }
    if (total.messages > total.calls && !two_phases(o)) {
      std::printf(", %.4f s per 1k msgs", s.cpu_s / static_cast<double>(total.messages) * 1000.0);
    }
  }
  std::printf("\n");
  if (s.rss_kb_open >= 0 && rep.established > 0) {
    std::printf(
        "open streams: rss %.1f MiB with %d open = %.1f KiB per stream; %.1f MiB after they "
        "closed\n",
        s.rss_kb_open / 1024.0, rep.established,
        static_cast<double>(s.rss_kb_open - s.rss_kb_start) / rep.established,
        s.rss_kb_released / 1024.0);
  }
}

nlohmann::json to_json(const run_report& rep) {
  const auto& o = rep.opts;
  nlohmann::json doc = {
      {"tool", "troupe-bench"},
      {"scenario", o.scenario},
      {"label", o.label},
      {"target", o.target},
      {"options",
       {{"concurrency", o.concurrency},
        {"channels", rep.channels},
        {"threads", rep.threads},
        {"payload", o.payload},
        {"duration_s", o.duration_s},
        {"count", o.count},
        {"warmup_s", o.warmup_s},
        {"rate", o.rate},
        {"bidi_mode", o.bidi_mode},
        {"window", o.window},
        {"stream_messages", o.stream_messages},
        {"db_method", o.db_method},
        {"db_users", o.db_users},
        {"db_ms", o.db_ms},
        {"db_load", o.db_load},
        {"delay_ms", o.delay_ms},
        {"read_interval_ms", o.read_interval_ms}}},
      {"elapsed_s", rep.elapsed_s},
      {"total", kind_json(total_of(rep), rep.elapsed_s)},
      {"by_kind", nlohmann::json::object()},
      {"dropped", rep.dropped},
  };
  for (const auto& [kind, r] : rep.kinds) doc["by_kind"][kind] = kind_json(r, rep.elapsed_s);
  if (o.scenario == "open-streams")
    doc["established"] = rep.established;
  if (two_phases(o))
    doc["p99_ratio_saturated_to_alone"] = saturation_p99_ratio(rep);
  if (!rep.failure.empty())
    doc["failure"] = rep.failure;
  if (rep.server) {
    const auto& s = *rep.server;
    auto& j = doc["server"];
    j = {{"pid", s.pid},
         {"cpu_s", s.cpu_s},
         {"rss_kb_start", s.rss_kb_start},
         {"rss_kb_peak", s.rss_kb_peak},
         {"rss_kb_end", s.rss_kb_end},
         {"rss_series", s.rss_series}};
    const auto total = total_of(rep);
    if (s.cpu_s >= 0 && total.calls > 0 && !holds_streams(o) && !two_phases(o)) {
      j["cpu_s_per_1k_calls"] = s.cpu_s / static_cast<double>(total.calls) * 1000.0;
    }
    if (s.cpu_s >= 0 && total.messages > 0 && !two_phases(o)) {
      j["cpu_s_per_1k_msgs"] = s.cpu_s / static_cast<double>(total.messages) * 1000.0;
    }
    if (s.rss_kb_open >= 0) {
      j["rss_kb_open"] = s.rss_kb_open;
      j["rss_kb_released"] = s.rss_kb_released;
      if (rep.established > 0) {
        j["rss_bytes_per_stream"] =
            static_cast<double>(s.rss_kb_open - s.rss_kb_start) * 1024.0 / rep.established;
      }
    }
  }
  return doc;
}

bool write_json(const std::string& path, const nlohmann::json& doc) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out)
      return false;
    out << doc.dump(2) << "\n";
    if (!out)
      return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace bench_client
