// A server with the demo services on a fresh database per test, once per
// backend, and stubs for each service.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include <troupe/api_keys.hpp>

#include "db/support.hpp"
#include "demo/v1/chat.grpc.pb.h"
#include "demo/v1/events.grpc.pb.h"
#include "demo/v1/logs.grpc.pb.h"
#include "demo/v1/users.grpc.pb.h"
#include "support/test_server.hpp"

namespace troupe::test {

class demo_app : public troupe::db::testing::backend_test {
protected:
  void SetUp() override;
  void TearDown() override;

  // (Re)starts the server with the demo services under `cfg` (SetUp uses
  // local_config()), and points the stubs at it.
  void serve(const server_config& cfg);

  // A channel on its own connection (`n` makes it distinct from others).
  std::shared_ptr<grpc::Channel> channel(int n = 0) const;

  // Rows of `table` (with an optional WHERE clause).
  int64_t count(const std::string& table, const std::string& where = "");

  // Creates a user through the service; fails the test if that fails.
  demo::v1::User create_user(const std::string& name, const std::string& email);

  // A client context that gives up after `patience`, so no read waits forever.
  static void bound(grpc::ClientContext& ctx);

  // An API key for `user` (needs keys_checked_).
  std::string make_key(const std::string& user);

  // Set in a derived fixture's constructor: the server checks API keys as
  // `troupe serve` does with [auth] enabled, but lets calls without a key
  // through (require_auth off), so what refuses them is each method's own
  // check.
  bool keys_checked_ = false;

  std::optional<troupe::db::pool> pool_;
  std::shared_ptr<troupe::api_key_checker> checker_;
  std::unique_ptr<troupe::server> server_;
  std::unique_ptr<demo::v1::UserService::Stub> users_;
  std::unique_ptr<demo::v1::EventService::Stub> events_;
  std::unique_ptr<demo::v1::LogService::Stub> logs_;
  std::unique_ptr<demo::v1::ChatService::Stub> chat_;
};

}  // namespace troupe::test
