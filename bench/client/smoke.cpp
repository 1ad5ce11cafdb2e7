#include "smoke.h"

#include "output.h"
#include "runner.h"
#include "saturation.h"

#include "bench/v1/bench.grpc.pb.h"

#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace bench_client {

namespace {

struct smoke_case {
  std::string name;
  std::function<void(options&)> adjust;
  // Extra check on the report; returns what is wrong, or "".
  std::function<std::string(const run_report&)> check;
  // Needs Troupe's demo services or bench-db-ms: run only when asked for.
  bool troupe_only = false;
};

std::string fastest_at_least(const kind_results& r, double ms, const std::string& what) {
  if (r.calls == 0)
    return "no " + what + " completed";
  const auto fastest_ms = static_cast<double>(r.latency.quantile(0.0)) / 1e6;
  return fastest_ms >= ms * 0.95 ? ""
                                 : "a " + what + " took " + std::to_string(fastest_ms) +
                                       " ms, below " + std::to_string(ms) + " ms";
}

std::string expect_some(const run_report& rep) {
  const auto total = total_of(rep);
  return total.calls + total.messages > 0 ? "" : "nothing completed";
}

std::vector<smoke_case> scenario_cases() {
  return {
      {"unary", [](options& o) { o.scenario = "unary"; }, expect_some},
      {"unary with bench-delay-ms",
       [](options& o) {
         o.scenario = "unary";
         o.delay_ms = 100;
         o.concurrency = 2;
         o.duration_s = 0.5;
       },
       [](const run_report& rep) { return fastest_at_least(total_of(rep), 100, "call"); }},
      {"server-stream",
       [](options& o) {
         o.scenario = "server-stream";
         o.stream_messages = 20;
       },
       expect_some},
      {"client-stream",
       [](options& o) {
         o.scenario = "client-stream";
         o.stream_messages = 20;
       },
       expect_some},
      {"bidi ping-pong", [](options& o) { o.scenario = "bidi"; }, expect_some},
      {"bidi pipelined",
       [](options& o) {
         o.scenario = "bidi";
         o.bidi_mode = "pipelined";
         o.window = 8;
       },
       expect_some},
      {"open-streams",
       [](options& o) {
         o.scenario = "open-streams";
         o.concurrency = 100;
         o.duration_s = 0.5;
       },
       [](const run_report& rep) -> std::string {
         const auto closed = total_of(rep).calls;
         if (rep.established != rep.opts.concurrency)
           return "established " + std::to_string(rep.established);
         return closed == static_cast<uint64_t>(rep.opts.concurrency)
                    ? ""
                    : "closed cleanly " + std::to_string(closed);
       }},
      {"slow-reader",
       [](options& o) {
         o.scenario = "slow-reader";
         o.concurrency = 2;
         o.payload = 16384;
       },
       [](const run_report& rep) -> std::string {
         const auto total = total_of(rep);
         if (total.messages == 0)
           return "no message read";
         return total.calls == 2 ? "" : "streams closed cleanly: " + std::to_string(total.calls);
       }},
      {"mixed", [](options& o) { o.scenario = "mixed"; }, expect_some},
      {"db get-user",
       [](options& o) {
         o.scenario = "db";
         o.db_method = "get-user";
         o.db_users = 20;
       },
       expect_some, true},
      {"db get-user-sync",
       [](options& o) {
         o.scenario = "db";
         o.db_method = "get-user-sync";
         o.db_users = 20;
       },
       expect_some, true},
      {"db upload-logs",
       [](options& o) {
         o.scenario = "db";
         o.db_method = "upload-logs";
         // More than the service's 100-entry transaction: two per upload.
         o.stream_messages = 150;
       },
       expect_some, true},
      {"db-saturation",
       [](options& o) {
         o.scenario = "db-saturation";
         o.duration_s = 0.5;
         o.db_ms = 20;
         o.db_load = 4;
       },
       [](const run_report& rep) -> std::string {
         for (const char* kind : {"unary-alone", "unary-saturated"}) {
           auto it = rep.kinds.find(kind);
           if (it == rep.kinds.end() || it->second.calls == 0)
             return std::string("no ") + kind + " call completed";
         }
         // The slow query really held the call for its length.
         auto load = rep.kinds.find("db-load");
         return load == rep.kinds.end() ? "no db-load call completed"
                                        : fastest_at_least(load->second, 20, "db-load call");
       },
       true},
  };
}

std::string describe_errors(const run_report& rep) {
  std::string out;
  for (const auto& [kind, r] : rep.kinds) {
    for (const auto& [name, n] : r.errors)
      out += (out.empty() ? "errors " : ", ") + kind + "/" + name + "=" + std::to_string(n);
  }
  return out;
}

// Corner cases of bench.proto that load runs do not reach.
std::string check_contract_edges(const std::string& target) {
  auto stub =
      bench::v1::Bench::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  {
    // An idle stream sends headers at once, nothing else, and ends at the deadline.
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(300));
    bench::v1::StreamRequest req;
    req.set_count(-1);
    auto reader = stub->ServerStream(&ctx, req);
    reader->WaitForInitialMetadata();
    bench::v1::Payload msg;
    if (reader->Read(&msg))
      return "idle stream sent a message";
    const auto status = reader->Finish();
    if (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return std::string("idle stream ended with ") + status_name(status.error_code());
    }
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bench::v1::StreamRequest req;
    req.set_count(0);
    auto reader = stub->ServerStream(&ctx, req);
    bench::v1::Payload msg;
    if (reader->Read(&msg))
      return "ServerStream(count=0) sent a message";
    if (!reader->Finish().ok())
      return "ServerStream(count=0) did not end OK";
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    bench::v1::Summary summary;
    auto writer = stub->ClientStream(&ctx, &summary);
    writer->WritesDone();
    if (!writer->Finish().ok() || summary.count() != 0 || summary.bytes() != 0)
      return "empty ClientStream";
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto stream = stub->Bidi(&ctx);
    stream->WritesDone();
    bench::v1::Payload msg;
    if (stream->Read(&msg))
      return "empty Bidi echoed something";
    if (!stream->Finish().ok())
      return "empty Bidi did not end OK";
  }
  return "";
}

}  // namespace

int run_smoke(const options& base, bool only_scenario) {
  int failures = 0;
  int ran = 0;
  for (const auto& c : scenario_cases()) {
    options o = base;
    o.concurrency = 4;
    o.channels = 2;
    o.duration_s = 1.0;
    o.warmup_s = 0;
    o.count = 0;
    o.rate = 0;
    o.timeout_ms = 5000;
    c.adjust(o);
    if (only_scenario ? o.scenario != base.scenario : c.troupe_only)
      continue;
    ++ran;
    const auto rep =
        o.scenario == "db-saturation" ? run_db_saturation(o, false) : run_scenario(o, false);
    const auto total = total_of(rep);
    std::string problem = rep.failure;
    if (problem.empty())
      problem = describe_errors(rep);
    if (problem.empty())
      problem = c.check(rep);
    if (problem.empty()) {
      std::printf("smoke %-26s ok (%llu calls, %llu messages)\n", c.name.c_str(),
                  static_cast<unsigned long long>(total.calls),
                  static_cast<unsigned long long>(total.messages));
    } else {
      std::printf("smoke %-26s FAILED: %s\n", c.name.c_str(), problem.c_str());
      ++failures;
    }
    std::fflush(stdout);
    if (!rep.connected) {
      std::printf("smoke: server unreachable, remaining checks skipped\n");
      return 1;
    }
  }
  if (only_scenario && ran == 0) {
    std::printf("smoke: no checks for scenario %s\n", base.scenario.c_str());
    return 1;
  }
  if (!only_scenario) {
    const auto edge = check_contract_edges(base.target);
    std::printf("smoke %-26s %s%s\n", "contract corner cases",
                edge.empty() ? "ok" : "FAILED: ", edge.c_str());
    if (!edge.empty())
      ++failures;
  }
  std::printf("smoke: %s\n", failures ? "FAILED" : "all ok");
  return failures ? 1 : 0;
}

}  // namespace bench_client
