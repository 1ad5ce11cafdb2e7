// The demo services as clients discover them: SERVING in health, listed by
// reflection. (No call reaches the database, so none is opened.)
#include <set>

#include <gtest/gtest.h>

#include "demo/demo.hpp"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "reflection/reflection_service.hpp"
#include "support/test_server.hpp"

namespace troupe::test {
namespace {

const std::vector<std::string> demo_services = {"demo.v1.UserService", "demo.v1.EventService",
                                                "demo.v1.LogService", "demo.v1.ChatService"};

// The demo services and reflection on 127.0.0.1, with a pool that is never used.
class demo_served : public ::testing::Test {
protected:
  demo_served() : sys_(cfg_), srv_(sys_, local_config()) {
    caf::actor no_pool;
    srv_.add(services::users_service(no_pool));
    srv_.add(services::events_service(sys_, no_pool));
    srv_.add(services::logs_service(no_pool));
    srv_.add(services::chat_service(no_pool));
    services::add_reflection(srv_);
    srv_.start();
  }

  std::shared_ptr<grpc::Channel> channel() {
    return grpc::CreateChannel("127.0.0.1:" + std::to_string(srv_.port()), grpc::InsecureChannelCredentials());
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  troupe::server srv_;
};

TEST_F(demo_served, every_service_is_serving_in_health) {
  for (const auto& name : demo_services) {
    bool serving = false;
    auto st = health_check(channel(), name, &serving);
    ASSERT_TRUE(st.ok()) << name << ": " << st.error_message();
    EXPECT_TRUE(serving) << name;
  }
}

TEST_F(demo_served, every_service_is_listed_by_reflection) {
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto stream = stub->ServerReflectionInfo(&ctx);
  grpc::reflection::v1::ServerReflectionRequest req;
  req.set_list_services("");
  ASSERT_TRUE(stream->Write(req));
  grpc::reflection::v1::ServerReflectionResponse resp;
  ASSERT_TRUE(stream->Read(&resp));
  stream->WritesDone();
  std::set<std::string> listed;
  for (const auto& s : resp.list_services_response().service())
    listed.insert(s.name());
  for (const auto& name : demo_services)
    EXPECT_EQ(listed.count(name), 1u) << name;
  EXPECT_TRUE(stream->Finish().ok());
}

}  // namespace
}  // namespace troupe::test
