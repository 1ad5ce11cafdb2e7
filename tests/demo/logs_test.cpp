// demo.v1.LogService: batched uploads, invalid levels, and a cancelled upload
// that commits nothing of its unfinished batch.
#include <gtest/gtest.h>

#include "demo_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::LogEntry;
using demo::v1::UploadResponse;
using troupe::db::backend;

LogEntry entry(int i, const std::string& level = "info") {
  LogEntry e;
  e.set_message("line " + std::to_string(i));
  e.set_level(level);
  return e;
}

using logs = demo_app;

TEST_P(logs, upload_counts_what_was_committed) {
  grpc::ClientContext ctx;
  bound(ctx);
  UploadResponse resp;
  auto writer = logs_->UploadLogs(&ctx, &resp);
  const char* levels[] = {"debug", "info", "warning", "error"};
  for (int i = 0; i < 250; ++i)
    ASSERT_TRUE(writer->Write(entry(i, levels[i % 4])));
  writer->WritesDone();
  auto st = writer->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(resp.logs_received(), 250);
  EXPECT_EQ(count("demo_logs"), 250);
  EXPECT_EQ(count("demo_logs", "level = 'warning'"), 62);
}

TEST_P(logs, empty_upload_receives_nothing) {
  grpc::ClientContext ctx;
  bound(ctx);
  UploadResponse resp;
  auto writer = logs_->UploadLogs(&ctx, &resp);
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.logs_received(), 0);
}

TEST_P(logs, invalid_level_is_invalid_argument) {
  grpc::ClientContext ctx;
  bound(ctx);
  UploadResponse resp;
  auto writer = logs_->UploadLogs(&ctx, &resp);
  writer->Write(entry(1));
  writer->Write(entry(2, "fatal"));
  writer->WritesDone();
  auto st = writer->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("fatal"), std::string::npos) << st.error_message();
  EXPECT_EQ(count("demo_logs"), 0);
}

TEST_P(logs, cancelled_upload_leaves_no_partial_batch) {
  {
    grpc::ClientContext ctx;
    bound(ctx);
    UploadResponse resp;
    auto writer = logs_->UploadLogs(&ctx, &resp);
    for (int i = 0; i < 150; ++i)
      ASSERT_TRUE(writer->Write(entry(i)));
    // The first batch commits; the other 50 wait for a batch that never fills.
    ASSERT_TRUE(wait_until([&] { return count("demo_logs") == 100; }));
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // A later upload commits exactly its own entries next to the first batch.
  grpc::ClientContext ctx;
  bound(ctx);
  UploadResponse resp;
  auto writer = logs_->UploadLogs(&ctx, &resp);
  for (int i = 0; i < 7; ++i)
    ASSERT_TRUE(writer->Write(entry(i, "error")));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  EXPECT_EQ(resp.logs_received(), 7);
  EXPECT_EQ(count("demo_logs"), 107);
}

INSTANTIATE_TEST_SUITE_P(backends, logs, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
