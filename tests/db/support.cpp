#include "support.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include <libpq-fe.h>

namespace troupe::db::testing {

namespace {

// Runs an admin statement (CREATE/DROP DATABASE) outside any pool.
void admin(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* res = PQexec(conn, sql.c_str());
  EXPECT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << sql << ": " << PQresultErrorMessage(res);
  PQclear(res);
  PQfinish(conn);
}

}  // namespace

std::string endless_query(backend kind) {
  if (kind == backend::sqlite)
    return "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
  return "SELECT pg_sleep(30)";
}

bool have_postgres() {
  return std::getenv("TROUPE_TEST_PG_DIR") != nullptr;
}

std::string postgres_base_url() {
  const char* dir = std::getenv("TROUPE_TEST_PG_DIR");
  if (!dir)
    return "";
  std::ifstream in(std::string(dir) + "/url");
  std::string url;
  std::getline(in, url);
  return url;
}

std::string postgres_dir() {
  const char* dir = std::getenv("TROUPE_TEST_PG_DIR");
  return dir ? dir : "";
}

void pg_cluster(const std::string& args) {
  std::string cmd = std::string(TROUPE_PG_CLUSTER_SCRIPT) + " " + args;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

std::string backend_name(const ::testing::TestParamInfo<backend>& info) {
  return to_string(info.param);
}

void db_test::SetUp() {
  cfg_ = std::make_unique<caf::actor_system_config>();
  cfg_->set("scheduler.max-threads", size_t{2});
  cfg_->set("scheduler.policy", caf::atom("sharing"));
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
}

void db_test::TearDown() {
  // Waits for every actor, the pools' workers included.
  sys_.reset();
  cfg_.reset();
  if (!database_name_.empty())
    admin(admin_url_, "DROP DATABASE IF EXISTS " + database_name_ + " WITH (FORCE)");
  if (!sqlite_dir_.empty())
    std::filesystem::remove_all(sqlite_dir_);
}

void db_test::use(backend kind) {
  if (kind == backend::sqlite) {
    std::string dir = (std::filesystem::temp_directory_path() / "troupe-db-test.XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    sqlite_dir_ = dir;
    // A folder that does not exist yet: the pool creates it.
    url_ = "sqlite://" + dir + "/var/test.db";
    return;
  }
  admin_url_ = postgres_base_url();
  ASSERT_FALSE(admin_url_.empty()) << "no url in $TROUPE_TEST_PG_DIR/url: did the fixture start the cluster?";
  auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("t_") + info->test_suite_name() + "_" + info->name();
  for (auto& ch : name)
    ch = std::isalnum(static_cast<unsigned char>(ch)) ? static_cast<char>(std::tolower(ch)) : '_';
  database_name_ = name.substr(0, 63);
  admin(admin_url_, "DROP DATABASE IF EXISTS " + database_name_ + " WITH (FORCE)");
  admin(admin_url_, "CREATE DATABASE " + database_name_);
  url_ = admin_url_.substr(0, admin_url_.rfind('/') + 1) + database_name_;
}

void db_test::wait_for_pg_sleeps(int n) {
  PGconn* conn = PQconnectdb(admin_url_.c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  std::string sql = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = '" +
                    database_name_ + "' AND query LIKE 'SELECT pg_sleep%'";
  int running = 0;
  for (auto until = clock::now() + patience; running < n && clock::now() < until;) {
    PGresult* res = PQexec(conn, sql.c_str());
    running = PQresultStatus(res) == PGRES_TUPLES_OK ? std::stoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (running < n)
      std::this_thread::sleep_for(10ms);
  }
  PQfinish(conn);
  ASSERT_GE(running, n) << "the pg_sleep statements did not start";
}

database_config db_test::config(int workers, int queue, int job_timeout_ms) const {
  database_config cfg;
  cfg.url = url_;
  cfg.workers = workers;
  cfg.queue = queue;
  cfg.job_timeout_ms = job_timeout_ms;
  return cfg;
}

pool db_test::start(const database_config& cfg, const std::vector<migration>& migrations) {
  return pool::start(sys(), cfg, migrations);
}

std::vector<migration> db_test::schema() {
  return {
    {1, "CREATE TABLE users (id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
        " age INTEGER CHECK (age >= 0), score DOUBLE PRECISION, active BOOLEAN, avatar BYTEA)"},
    {2, "CREATE TABLE posts (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id),"
        " body TEXT NOT NULL);"
        " CREATE INDEX posts_by_user ON posts (user_id)"},
  };
}

void backend_test::SetUp() {
  db_test::SetUp();
  if (kind() == backend::postgresql && !have_postgres())
    GTEST_SKIP() << "no PostgreSQL cluster: run through ctest (TROUPE_TEST_PG_DIR)";
  use(kind());
}

}  // namespace troupe::db::testing
