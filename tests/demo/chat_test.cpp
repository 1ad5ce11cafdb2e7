// demo.v1.ChatService: every message stored, then answered, in order.
#include <ctime>

#include <gtest/gtest.h>

#include "demo_fixture.hpp"

namespace troupe::test {
namespace {

using demo::v1::ChatMessage;
using demo::v1::ChatResponse;
using troupe::db::backend;

using chat = demo_app;

TEST_P(chat, answers_each_message_in_order_after_storing_it) {
  constexpr int n = 50;
  grpc::ClientContext ctx;
  bound(ctx);
  auto before = static_cast<int64_t>(std::time(nullptr));
  auto stream = chat_->Chat(&ctx);
  std::thread writer([&] {
    for (int i = 0; i < n; ++i) {
      ChatMessage m;
      m.set_user_id(7);
      m.set_text("hello " + std::to_string(i));
      if (!stream->Write(m))
        return;
    }
    stream->WritesDone();
  });
  ChatResponse resp;
  int received = 0;
  while (stream->Read(&resp)) {
    EXPECT_EQ(resp.text(), "Received: hello " + std::to_string(received));
    EXPECT_GE(resp.timestamp(), before);
    EXPECT_LE(resp.timestamp(), static_cast<int64_t>(std::time(nullptr)));
    ++received;
  }
  writer.join();
  auto st = stream->Finish();
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(received, n);
  EXPECT_EQ(count("demo_chat_messages", "user_id = 7"), n);
}

TEST_P(chat, half_close_without_messages_finishes_ok) {
  grpc::ClientContext ctx;
  bound(ctx);
  auto stream = chat_->Chat(&ctx);
  stream->WritesDone();
  ChatResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_TRUE(stream->Finish().ok());
}

INSTANTIATE_TEST_SUITE_P(backends, chat, ::testing::Values(backend::sqlite, backend::postgresql),
                         troupe::db::testing::backend_name);

}  // namespace
}  // namespace troupe::test
