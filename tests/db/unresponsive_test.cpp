// A PostgreSQL server that stops answering (reached through a proxy the test
// pauses): a job past its timeout must free its worker within the timeout and
// a bounded grace, though the cancel request is never answered, and the
// worker must serve again once the server answers.
#include "support.hpp"
#include "tcp_proxy.hpp"

namespace troupe::db::testing {
namespace {

using seconds = std::chrono::duration<double>;

class unresponsive_server : public db_test {
protected:
  void SetUp() override {
    db_test::SetUp();
    if (!have_postgres())
      GTEST_SKIP() << "no PostgreSQL cluster: run through ctest";
    use(backend::postgresql);
  }

  // url_ with its port, "postgresql://troupe@127.0.0.1:PORT/db", swapped.
  std::string url_through(int port) const {
    auto colon = url_.rfind(':');
    return url_.substr(0, colon + 1) + std::to_string(port) + url_.substr(url_.find('/', colon));
  }
  int server_port() const {
    auto colon = url_.rfind(':');
    return std::stoi(url_.substr(colon + 1, url_.find('/', colon) - colon - 1));
  }
};

TEST_F(unresponsive_server, a_job_past_its_timeout_frees_the_worker_though_the_cancel_is_never_answered) {
  tcp_proxy proxy(server_port());
  auto cfg = config(1, 8, 500);
  cfg.url = url_through(proxy.port());
  auto p = start(cfg);
  // However the test ends, the server answers again before the pool stops,
  // so that its worker and the cluster can stop.
  struct resume_at_exit {
    tcp_proxy& proxy;
    ~resume_at_exit() { proxy.resume(); }
  } resume{proxy};
  auto warm = submit(p, [](connection& c) { return std::get<0>(c.fetch_one<int64_t>("none", "SELECT 1")); });
  ASSERT_TRUE(warm) << to_string(warm.error());

  // The host hangs: the statement gets no answer, nor does its cancel request
  // (the proxy's backlog completes the connect, nothing reads it).
  proxy.pause();
  auto t0 = clock::now();
  auto stuck = submit_in_background(p, [](connection& c) { c.exec("SELECT pg_sleep(60)"); });
  ASSERT_EQ(stuck.result.wait_for(10s), std::future_status::ready)
    << "the worker still waits for its cancel request 10 s after the 500 ms job timeout";
  double took = seconds(clock::now() - t0).count();
  auto r = stuck.result.get();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::deadline) << to_string(r.error());
  // job_timeout_ms 500 plus the 1 s grace; generous for a loaded machine.
  EXPECT_LT(took, 5.0) << "the job ended after " << took << " s";
  RecordProperty("timed_out_job_s", std::to_string(took));

  // The server answers again: the worker opens a new connection and serves.
  proxy.resume();
  auto t1 = clock::now();
  auto next = submit(p, [](connection& c) { return std::get<0>(c.fetch_one<int64_t>("none", "SELECT 40 + ?", 2)); });
  ASSERT_TRUE(next) << to_string(next.error());
  EXPECT_EQ(*next, 42);
  EXPECT_LT(seconds(clock::now() - t1).count(), 5.0);
}

}  // namespace
}  // namespace troupe::db::testing
