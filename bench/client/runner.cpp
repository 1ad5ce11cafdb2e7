#include "runner.h"

#include "call_metadata.h"
#include "db_seed.h"
#include "engine.h"
#include "proc_stats.h"
#include "slots.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstdio>

namespace bench_client {

namespace {

using std::chrono::duration;
using std::chrono::duration_cast;

constexpr auto far_future = std::chrono::hours(24);
constexpr auto connect_timeout = std::chrono::seconds(5);

// Each channel gets a distinct argument: gRPC then keys its subchannel
// differently and opens a connection of its own instead of sharing one.
std::vector<std::shared_ptr<grpc::Channel>> make_channels(const options& o, int count) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < count; ++i) {
    grpc::ChannelArguments args;
    args.SetInt("troupe.bench.channel", i);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetMaxReceiveMessageSize(-1);
    // A slow reader should be held to HTTP/2's default window, not one gRPC
    // grows because data arrives fast.
    if (o.scenario == "slow-reader")
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    channels.push_back(channel_with_metadata(o.target, args, o.metadata));
  }
  return channels;
}

double seconds(clock::duration d) {
  return duration<double>(d).count();
}

}  // namespace

run_report run_scenario(const options& o, bool show_progress, int db_load) {
  run_report rep;
  rep.opts = o;
  rep.channels = o.channels > 0 ? o.channels : std::min(o.concurrency, 16);
  rep.threads = std::clamp(o.threads, 1, o.concurrency);

  auto channels = make_channels(o, rep.channels);
  for (auto& ch : channels) {
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + connect_timeout)) {
      rep.failure = "cannot connect to " + o.target;
      return rep;
    }
  }
  rep.connected = true;
  std::vector<std::unique_ptr<channel_stubs>> stubs;
  for (auto& ch : channels) stubs.push_back(std::make_unique<channel_stubs>(ch));

  seeded_users users;
  if (o.scenario == "db" && o.db_method != "upload-logs") {
    users = seed_users(stubs, o.db_users, rep.failure);
    if (!rep.failure.empty())
      return rep;
  }

  const bool held = o.scenario == "open-streams";
  const bool by_count = o.count > 0 && !held;
  run_clock timing;
  if (by_count)
    timing.tickets = o.count;

  std::vector<std::unique_ptr<worker>> workers;
  for (int i = 0; i < rep.threads; ++i) {
    workers.push_back(
        std::make_unique<worker>(o, timing, static_cast<uint64_t>(i + 1), o.rate / rep.threads));
  }
  for (int i = 0; i < o.concurrency; ++i) {
    auto& w = *workers[static_cast<size_t>(i % rep.threads)];
    w.add_slot(make_slot(o.scenario, w, *stubs[static_cast<size_t>(i % rep.channels)], users));
  }
  for (int i = 0; i < db_load; ++i) {
    auto& w = *workers[static_cast<size_t>(i % rep.threads)];
    auto s = make_db_load_slot(w, *stubs[static_cast<size_t>(i % rep.channels)]->bench);
    s->set_background();
    w.add_slot(std::move(s));
  }

  if (o.server_pid > 0) {
    rep.server.emplace();
    rep.server->pid = o.server_pid;
    rep.server->rss_kb_start = rep.server->rss_kb_peak = read_rss_kb(o.server_pid);
  }
  auto& srv = rep.server;

  const auto t0 = clock::now();
  const bool timed = !held && !by_count;
  timing.measure_from =
      timed ? t0 + duration_cast<clock::duration>(duration<double>(o.warmup_s)) : t0;
  timing.stop_at =
      timed ? timing.measure_from + duration_cast<clock::duration>(duration<double>(o.duration_s))
            : t0 + far_future;
  for (auto& w : workers) w->start();

  double cpu_from = -1;
  double cpu_to = -1;
  if (srv && timing.measure_from <= t0)
    cpu_from = read_cpu_seconds(o.server_pid);
  // open-streams: hold from the moment all streams are open, for --duration.
  std::optional<clock::time_point> hold_until;
  clock::time_point hold_from;
  auto next_report = t0 + std::chrono::seconds(1);
  uint64_t last_units = 0;
  auto last_time = t0;

  auto all_done = [&] {
    return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->done(); });
  };
  while (!all_done()) {
    auto wake = std::min(clock::now() + std::chrono::milliseconds(50), next_report);
    if (cpu_from < 0 && clock::now() < timing.measure_from)
      wake = std::min(wake, timing.measure_from);
    if (cpu_to < 0 && clock::now() < timing.stop_at)
      wake = std::min(wake, timing.stop_at);
    std::this_thread::sleep_until(wake);
    const auto now = clock::now();

    if (srv && cpu_from < 0 && now >= timing.measure_from)
      cpu_from = read_cpu_seconds(o.server_pid);
    if (srv && timed && cpu_to < 0 && now >= timing.stop_at)
      cpu_to = read_cpu_seconds(o.server_pid);

    int established = 0;
    for (auto& w : workers) established += w->established.load(std::memory_order_relaxed);
    if (held && !hold_until) {
      if (established == o.concurrency) {
        if (srv)
          srv->rss_kb_open = read_rss_kb(o.server_pid);
        if (srv)
          cpu_from = read_cpu_seconds(o.server_pid);
        hold_until = now + duration_cast<clock::duration>(duration<double>(o.duration_s));
        hold_from = now;
      } else if (now - t0 > establish_timeout(o)) {
        rep.failure = "only " + std::to_string(established) + " of " +
                      std::to_string(o.concurrency) +
                      " streams established (server or per-connection stream limit?)";
        hold_until = now;
      }
    }
    if (held && hold_until && now >= *hold_until && cpu_to < 0) {
      if (srv)
        cpu_to = read_cpu_seconds(o.server_pid);
      rep.elapsed_s = seconds(now - hold_from);
      for (auto& w : workers) w->request_stop();
    }

    if (now >= next_report) {
      next_report += std::chrono::seconds(1);
      uint64_t units = 0;
      uint64_t errors = 0;
      for (auto& w : workers) {
        units += w->progress_units.load(std::memory_order_relaxed);
        errors += w->progress_errors.load(std::memory_order_relaxed);
      }
      int64_t rss = -1;
      if (srv) {
        rss = read_rss_kb(o.server_pid);
        srv->rss_kb_peak = std::max(srv->rss_kb_peak, rss);
        srv->rss_series.emplace_back(seconds(now - t0), rss);
      }
      if (show_progress) {
        const double rate = static_cast<double>(units - last_units) / seconds(now - last_time);
        std::fprintf(stderr, "[%5.1fs] %s %10.0f /s  errors %llu", seconds(now - t0),
                     o.scenario.c_str(), rate, static_cast<unsigned long long>(errors));
        if (held)
          std::fprintf(stderr, "  open %d/%d", established, o.concurrency);
        if (rss >= 0)
          std::fprintf(stderr, "  server rss %.1f MiB", static_cast<double>(rss) / 1024.0);
        if (timed && now < timing.measure_from)
          std::fprintf(stderr, "  (warm-up)");
        std::fprintf(stderr, "\n");
      }
      last_units = units;
      last_time = now;
    }
  }
  for (auto& w : workers) w->join();
  const auto end = clock::now();

  for (auto& w : workers) {
    merge_into(rep.kinds, w->results());
    rep.dropped += w->dropped();
    rep.established += w->established.load();
  }
  if (by_count)
    rep.elapsed_s = seconds(end - t0);
  if (timed)
    rep.elapsed_s = o.duration_s;
  if (srv) {
    if (cpu_to < 0)
      cpu_to = read_cpu_seconds(o.server_pid);
    if (cpu_from >= 0 && cpu_to >= 0)
      srv->cpu_s = cpu_to - cpu_from;
    srv->rss_kb_end = read_rss_kb(o.server_pid);
    srv->rss_kb_peak = std::max(srv->rss_kb_peak, srv->rss_kb_end);
    if (held) {
      // Freed memory goes back to the system lazily; give it a moment.
      std::this_thread::sleep_for(std::chrono::seconds(1));
      srv->rss_kb_released = read_rss_kb(o.server_pid);
    }
  }
  return rep;
}

}  // namespace bench_client
