// The request_log table: every logged call becomes one row once the writer is
// flushed after server shutdown; a full queue drops and counts, never blocks.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <tuple>

#include <troupe/actor_system.hpp>
#include <troupe/db/job.hpp>
#include <troupe/db/pool.hpp>
#include <troupe/db/run.hpp>
#include <troupe/request_log_writer.hpp>

#include "bench/v1/bench.grpc.pb.h"
#include "log_capture.hpp"
#include "support/probe_service.hpp"
#include "support/temp_folder.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

using namespace std::chrono_literals;
using bench::v1::Payload;
using row = std::tuple<std::string, int64_t, int64_t, int64_t>;  // request_id, status, msgs_in, msgs_out

class request_table : public ::testing::Test {
protected:
  void SetUp() override {
    database_config cfg;
    cfg.url = "sqlite://" + dir_ / "troupe.db";
    cfg.workers = 1;
    pool_.emplace(db::pool::start(sys_, cfg, request_log_migrations(cfg.url)));
  }
  void TearDown() override {
    server_.reset();
    pool_.reset();
  }

  void serve(request_log mode, const request_log_writer& writer) {
    server_ = std::make_unique<test_server>([&](troupe::server& s) {
      s.add(probe_service(std::make_shared<probe>()));
      s.set_request_log(mode, [writer](const call_record& r) { writer.record(r); });
    });
  }

  grpc::Status call(const std::string& id, const std::string& data) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ctx.AddMetadata("x-request-id", id);
    Payload out;
    return server_->bench()->Unary(&ctx, [&] {
      Payload p;
      p.set_data(data);
      return p;
    }(), &out);
  }

  std::vector<row> rows() {
    caf::scoped_actor self{sys_};
    std::vector<row> result;
    auto work = db::make_job_function([](db::connection& c) {
      std::vector<row> rs;
      c.query("SELECT request_id, status_code, msgs_in, msgs_out FROM request_log ORDER BY id",
              [&](const db::row& r) { rs.push_back(r.as<std::string, int64_t, int64_t, int64_t>()); });
      return rs;
    });
    self->request(pool_->actor(), 10s, db::job{self.ptr(), db::clock::time_point::max(), work})
      .receive([&](db::job_result& r) { result = db::to_outcome<std::vector<row>>(r).value(); },
               [&](caf::error& e) { ADD_FAILURE() << sys_.render(e); });
    return result;
  }

  log_capture capture_;
  // Removed after sys_ is gone: the pool's workers close their connections
  // (and SQLite its -wal and -shm files) until then.
  temp_folder dir_{"troupe-request-log"};
  caf::actor_system_config caf_cfg_;
  caf::actor_system sys_{caf_cfg_};
  std::optional<db::pool> pool_;
  std::unique_ptr<test_server> server_;
};

TEST_F(request_table, every_logged_call_is_a_row_after_shutdown_and_flush) {
  request_log_writer writer{sys_, pool_->actor()};
  serve(request_log::all, writer);
  constexpr int n = 25;
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(call("row-" + std::to_string(i), "x").ok());
  EXPECT_EQ(call("row-error", "not-found").error_code(), grpc::StatusCode::NOT_FOUND);
  server_->server().shutdown();
  ASSERT_TRUE(writer.flush(10s));

  auto rs = rows();
  ASSERT_EQ(rs.size(), static_cast<size_t>(n + 1));
  std::map<std::string, row> by_id;
  for (auto& r : rs)
    by_id[std::get<0>(r)] = r;
  for (int i = 0; i < n; ++i) {
    auto& r = by_id["row-" + std::to_string(i)];
    EXPECT_EQ(std::get<1>(r), 0);  // OK
    EXPECT_EQ(std::get<2>(r), 1);
    EXPECT_EQ(std::get<3>(r), 1);
  }
  EXPECT_EQ(std::get<1>(by_id["row-error"]), static_cast<int64_t>(grpc::StatusCode::NOT_FOUND));
  EXPECT_EQ(writer.dropped(), 0u);
}

TEST_F(request_table, errors_mode_records_only_failed_calls) {
  request_log_writer writer{sys_, pool_->actor()};
  serve(request_log::errors, writer);
  ASSERT_TRUE(call("good", "x").ok());
  EXPECT_FALSE(call("bad", "not-found").ok());
  server_->server().shutdown();
  ASSERT_TRUE(writer.flush(10s));
  auto rs = rows();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(std::get<0>(rs[0]), "bad");
}

TEST_F(request_table, a_full_queue_drops_and_counts_without_blocking_calls) {
  request_log_writer::options opts;
  opts.queue = 2;
  opts.batch = 1000;
  opts.interval = 60s;  // nothing is written before the flush: the queue stays full
  request_log_writer writer{sys_, pool_->actor(), opts};
  serve(request_log::all, writer);
  constexpr int n = 20;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(call("call-" + std::to_string(i), "x").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  server_->server().shutdown();
  EXPECT_EQ(writer.dropped(), static_cast<uint64_t>(n - 2));
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(rows().size(), 2u);
  auto warnings = capture_.lines("request log: 18 records dropped");
  EXPECT_EQ(warnings.size(), 1u);
}

TEST_F(request_table, rows_past_the_retention_are_deleted_at_start_and_the_rest_kept) {
  auto day_ms = [](int days) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             (std::chrono::system_clock::now() - std::chrono::hours(24) * days).time_since_epoch()).count();
  };
  caf::scoped_actor self{sys_};
  auto insert = db::make_job_function([&](db::connection& c) {
    for (auto [id, age] : {std::pair{"old-1", 40}, std::pair{"old-2", 31}, std::pair{"recent", 29}})
      c.exec("INSERT INTO request_log (request_id, method, peer, \"user\", status_code, status_message,"
             " duration_us, msgs_in, msgs_out, bytes_in, bytes_out, started_at_ms)"
             " VALUES (?, '/m', 'p', '', 0, '', 1, 1, 1, 1, 1, ?)",
             std::string(id), static_cast<int64_t>(day_ms(age)));
  });
  self->request(pool_->actor(), 10s, db::job{self.ptr(), db::clock::time_point::max(), insert})
    .receive([](db::job_result& r) { ASSERT_FALSE(r.error); }, [&](caf::error& e) { FAIL() << sys_.render(e); });
  ASSERT_EQ(rows().size(), 3u);

  request_log_writer::options opts;
  opts.retention = std::chrono::hours(24) * 30;
  request_log_writer writer{sys_, pool_->actor(), opts};
  EXPECT_TRUE(wait_until([&] { return rows().size() == 1; }, 10s)) << rows().size();
  auto rs = rows();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(std::get<0>(rs[0]), "recent");
  ASSERT_TRUE(writer.flush(10s));
}

}  // namespace
}  // namespace troupe::test
