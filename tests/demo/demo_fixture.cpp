#include "demo_fixture.hpp"

#include "demo/demo.hpp"

namespace troupe::test {

void demo_app::SetUp() {
  backend_test::SetUp();
  if (IsSkipped())
    return;
  auto schema = troupe::services::demo_schema();
  if (keys_checked_) {
    auto keys = api_key_migrations(url_);
    schema.insert(schema.end(), keys.begin(), keys.end());
  }
  pool_.emplace(start(config(4, 256), schema));
  serve(local_config());
}

void demo_app::serve(const server_config& cfg) {
  if (server_)
    server_->shutdown();
  server_ = std::make_unique<troupe::server>(sys(), cfg);
  if (keys_checked_) {
    auth_config auth;
    auth.enabled = true;
    checker_ = std::make_shared<api_key_checker>(sys(), pool_->actor(), auth);
    server_->set_auth(auth, checker_);
  }
  server_->add(troupe::services::users_service(pool_->actor(), keys_checked_));
  server_->add(troupe::services::events_service(sys(), pool_->actor()));
  server_->add(troupe::services::logs_service(pool_->actor()));
  server_->add(troupe::services::chat_service(pool_->actor()));
  server_->start();
  users_ = demo::v1::UserService::NewStub(channel());
  events_ = demo::v1::EventService::NewStub(channel());
  logs_ = demo::v1::LogService::NewStub(channel());
  chat_ = demo::v1::ChatService::NewStub(channel());
}

void demo_app::TearDown() {
  if (server_)
    server_->shutdown();
  server_.reset();
  if (checker_) {
    EXPECT_TRUE(checker_->flush(std::chrono::seconds(5)));
  }
  checker_.reset();
  pool_.reset();
  backend_test::TearDown();
}

std::shared_ptr<grpc::Channel> demo_app::channel(int n) const {
  grpc::ChannelArguments args;
  args.SetInt("troupe.test.channel", n);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials(), args);
}

int64_t demo_app::count(const std::string& table, const std::string& where) {
  std::string sql = "SELECT count(*) FROM " + table + (where.empty() ? "" : " WHERE " + where);
  auto r = submit(*pool_, [sql](troupe::db::connection& c) {
    return std::get<0>(c.fetch_one<int64_t>("no count", sql));
  });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : troupe::db::to_string(r.error()));
  return r.ok() ? *r : -1;
}

demo::v1::User demo_app::create_user(const std::string& name, const std::string& email) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::CreateUserRequest req;
  req.set_name(name);
  req.set_email(email);
  demo::v1::User user;
  auto st = users_->CreateUser(&ctx, req, &user);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return user;
}

std::string demo_app::make_key(const std::string& user) {
  auto k = submit(*pool_, [user](troupe::db::connection& c) {
    return create_api_key(c, user, "test", std::nullopt);
  });
  EXPECT_TRUE(k.ok()) << (k.ok() ? "" : troupe::db::to_string(k.error()));
  return k.ok() ? k->key : "";
}

void demo_app::bound(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + troupe::db::testing::patience);
}

}  // namespace troupe::test
