// What a run measured, per kind of call ("unary", "bidi", ...).
#pragma once

#include "histogram.h"

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>

namespace bench_client {

struct kind_results {
  // Per call; per message for bidi (round trip of one echo).
  histogram latency;
  // Calls (streams) finished OK inside the measured window.
  uint64_t calls = 0;
  // Messages received (sent, for client-stream) inside the window.
  uint64_t messages = 0;
  uint64_t bytes = 0;
  // Failures by status name or check ("MISMATCH", ...) over the whole run,
  // warm-up included: a wrong answer is wrong whenever it comes.
  std::map<std::string, uint64_t> errors;

  void merge(const kind_results& other);
  uint64_t error_count() const;
};

using results_by_kind = std::map<std::string, kind_results>;

void merge_into(results_by_kind& into, const results_by_kind& from);

const char* status_name(grpc::StatusCode code);

}  // namespace bench_client
