#include "engine.h"

namespace bench_client {

namespace {

std::chrono::system_clock::time_point to_system(clock::time_point t) {
  return std::chrono::system_clock::now() +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(t - clock::now());
}

}  // namespace

slot::slot(worker& w, bench::v1::Bench::Stub& stub, const char* kind)
    : w_(w), stub_(stub), kind_(kind) {
  for (int i = 0; i < max_ops; ++i) tags_[i] = {this, i};
}

void slot::finished() {
  if (parent_) {
    parent_->finished();
  } else {
    w_.slot_finished(*this);
  }
}

std::chrono::system_clock::time_point slot::deadline(bool held_stream) const {
  const auto& o = w_.opts();
  auto d = std::chrono::system_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  // A stream held for the whole run may last as long as the run; with --count
  // that length is unknown, and an hour bounds it.
  if (held_stream) {
    d += o.count > 0
             ? std::chrono::milliseconds(std::chrono::hours(1))
             : std::chrono::milliseconds(static_cast<int64_t>((o.warmup_s + o.duration_s) * 1000));
  }
  return d;
}

worker::worker(const options& opts, run_clock& timing, uint64_t seed, double rate)
    : opts_(opts), timing_(timing), rng_(seed), sequence_(seed << 40), rate_(rate) {}

worker::~worker() {
  join();
}

void worker::start() {
  // Armed here, before the thread exists, so that request_stop() from the
  // main thread always finds the alarm set.
  stop_alarm_.Set(&cq_, to_system(timing_.stop_at), &stop_tag_);
  thread_ = std::thread([this] { run(); });
}

void worker::join() {
  if (thread_.joinable())
    thread_.join();
}

void worker::run() {
  for (auto& s : slots_) {
    if (s->background()) {
      ++active_;
      s->begin(clock::now());
    }
  }
  if (rate_ > 0) {
    open_loop_start_ = clock::now();
    for (auto& s : slots_) {
      if (!s->background())
        idle_.push_back(s.get());
    }
    tick();
  } else {
    for (auto& s : slots_) {
      if (s->background())
        continue;
      if (!keep_going())
        break;
      ++active_;
      s->begin(clock::now());
    }
  }
  maybe_end_counted_run();
  maybe_shutdown();
  void* raw = nullptr;
  bool ok = false;
  while (cq_.Next(&raw, &ok)) {
    auto* t = static_cast<tag*>(raw);
    t->target->on_event(t->op, ok);
  }
  done_.store(true, std::memory_order_release);
}

void worker::on_event(int op, bool) {
  if (op == op_tick) {
    tick_pending_ = false;
    if (!stopping_)
      tick();
  } else {  // op_stop: time is up, or request_stop()
    stopping_ = true;
    if (tick_pending_)
      tick_alarm_.Cancel();
    dropped_ += backlog_.size();
    backlog_.clear();
    for (auto& s : slots_) s->stop();
  }
  maybe_shutdown();
}

void worker::tick() {
  const auto now = clock::now();
  const auto due =
      static_cast<uint64_t>(std::chrono::duration<double>(now - open_loop_start_).count() * rate_);
  for (; issued_ < due && keep_going(); ++issued_) {
    const auto at =
        open_loop_start_ + std::chrono::duration_cast<clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(issued_) / rate_));
    if (idle_.empty()) {
      backlog_.push_back(at);
    } else {
      slot* s = idle_.back();
      idle_.pop_back();
      ++active_;
      s->begin(at);
    }
  }
  if (timing_.tickets.load(std::memory_order_relaxed) == 0) {
    maybe_end_counted_run();
    return;  // --count: everything is issued; the last call ends the run
  }
  const auto next = open_loop_start_ +
                    std::chrono::duration_cast<clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(issued_ + 1) / rate_));
  tick_pending_ = true;
  tick_alarm_.Set(&cq_, to_system(next), &tick_tag_);
}

void worker::slot_finished(slot& s) {
  if (s.background()) {
    if (!stopping_) {
      s.begin(clock::now());
      return;
    }
    --active_;
  } else if (rate_ > 0) {
    if (!stopping_ && !backlog_.empty()) {
      const auto at = backlog_.front();
      backlog_.pop_front();
      s.begin(at);
      return;
    }
    idle_.push_back(&s);
    --active_;
  } else if (keep_going()) {
    s.begin(clock::now());
    return;
  } else {
    --active_;
  }
  maybe_end_counted_run();
  maybe_shutdown();
}

// With --count, the last call ends the run without waiting for the clock.
void worker::maybe_end_counted_run() {
  if (stopping_ || active_ > 0 || !backlog_.empty())
    return;
  if (timing_.tickets.load(std::memory_order_relaxed) != 0)
    return;
  if (rate_ > 0 && tick_pending_)
    return;
  request_stop();
}

void worker::maybe_shutdown() {
  if (stopping_ && active_ == 0 && !tick_pending_ && !shut_down_) {
    shut_down_ = true;
    cq_.Shutdown();
  }
}

bool worker::keep_going() {
  if (stopping_)
    return false;
  int64_t left = timing_.tickets.load(std::memory_order_relaxed);
  if (left < 0)
    return true;
  while (left > 0) {
    if (timing_.tickets.compare_exchange_weak(left, left - 1, std::memory_order_relaxed))
      return true;
  }
  return false;
}

bool worker::in_window(clock::time_point start, clock::time_point end) const {
  return start >= timing_.measure_from && end <= timing_.stop_at;
}

void worker::count_error(const char* kind, const grpc::Status& status, const char* problem) {
  ++results_[kind].errors[status.ok() ? problem : status_name(status.error_code())];
  progress_errors.fetch_add(1, std::memory_order_relaxed);
}

void worker::call_done(const char* kind, clock::time_point start, clock::time_point end,
                       const grpc::Status& status, const char* problem, uint64_t messages,
                       uint64_t bytes, bool timed) {
  if (!status.ok() || problem) {
    count_error(kind, status, problem);
    return;
  }
  progress_units.fetch_add(1, std::memory_order_relaxed);
  if (!in_window(start, end))
    return;
  auto& r = results_[kind];
  ++r.calls;
  r.messages += messages;
  r.bytes += bytes;
  if (timed)
    r.latency.record(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
}

void worker::message_done(const char* kind, clock::time_point sent, clock::time_point received,
                          uint64_t bytes, const char* problem, bool with_latency) {
  if (problem) {
    count_error(kind, grpc::Status::OK, problem);
    return;
  }
  progress_units.fetch_add(1, std::memory_order_relaxed);
  if (!in_window(sent, received))
    return;
  auto& r = results_[kind];
  ++r.messages;
  r.bytes += bytes;
  if (with_latency)
    r.latency.record(std::chrono::duration_cast<std::chrono::nanoseconds>(received - sent).count());
}

void worker::stream_done(const char* kind, const grpc::Status& status, const char* problem) {
  if (!status.ok() || problem) {
    count_error(kind, status, problem);
    return;
  }
  ++results_[kind].calls;
}

}  // namespace bench_client
