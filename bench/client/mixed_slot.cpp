// The mixed scenario, and the factory choosing a slot for each scenario.
#include "slots.h"

#include <stdexcept>

namespace bench_client {

namespace {

// Each call picks its kind at random: mostly unary, as in typical services,
// with short streams of every kind alongside.
class mixed_slot final : public slot {
 public:
  mixed_slot(worker& w, bench::v1::Bench::Stub& stub) : slot(w, stub, "mixed") {
    children_[0] = make_unary_slot(w, stub);
    children_[1] = make_server_stream_slot(w, stub, short_stream);
    children_[2] = make_client_stream_slot(w, stub, short_stream);
    children_[3] = make_bidi_slot(w, stub, 1, short_stream);
    for (auto& child : children_) child->set_parent(this);
  }

  void begin(clock::time_point scheduled) override {
    const auto roll = std::uniform_int_distribution<int>(0, 99)(w_.rng());
    const size_t pick = roll < 70 ? 0 : roll < 80 ? 1 : roll < 90 ? 2 : 3;
    children_[pick]->begin(scheduled);
  }

 private:
  static constexpr int short_stream = 10;
  // Calls go to the children; their completions arrive through finished().
  void on_event(int, bool) override {}

  std::unique_ptr<slot> children_[4];
};

}  // namespace

std::unique_ptr<slot> make_mixed_slot(worker& w, bench::v1::Bench::Stub& stub) {
  return std::make_unique<mixed_slot>(w, stub);
}

std::unique_ptr<slot> make_slot(const std::string& scenario, worker& w, channel_stubs& stubs,
                                const seeded_users& users) {
  const auto& o = w.opts();
  auto& stub = *stubs.bench;
  if (scenario == "unary")
    return make_unary_slot(w, stub);
  if (scenario == "server-stream")
    return make_server_stream_slot(w, stub, o.stream_messages);
  if (scenario == "client-stream")
    return make_client_stream_slot(w, stub, o.stream_messages);
  if (scenario == "bidi")
    return make_bidi_slot(w, stub, o.bidi_mode == "pipelined" ? o.window : 1, 0);
  if (scenario == "open-streams")
    return make_idle_stream_slot(w, stub);
  if (scenario == "slow-reader")
    return make_slow_reader_slot(w, stub);
  if (scenario == "mixed")
    return make_mixed_slot(w, stub);
  if (scenario == "db" && o.db_method == "upload-logs")
    return make_upload_logs_slot(w, stubs);
  if (scenario == "db")
    return make_get_user_slot(w, stubs, users, o.db_method == "get-user-sync");
  throw std::invalid_argument("unknown scenario " + scenario);
}

}  // namespace bench_client
