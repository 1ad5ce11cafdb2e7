// pool::start refuses what it cannot use, with a clear error.
#include <string>

#include "support.hpp"

namespace troupe::db::testing {
namespace {

class start_test : public db_test {
protected:
  // The failure pool::start throws for `url`; fails the test if it does not.
  failure start_failure(const std::string& url) {
    url_ = url;
    try {
      start(config());
    } catch (const failure& f) {
      return f;
    }
    ADD_FAILURE() << url << " was accepted";
    return failure(errc::internal, "accepted");
  }
};

TEST_F(start_test, an_unknown_scheme_is_invalid_argument) {
  auto f = start_failure("mysql://root:secret@localhost/app");
  EXPECT_EQ(f.code(), errc::invalid_argument);
  EXPECT_NE(std::string(f.what()).find("sqlite://PATH"), std::string::npos) << f.what();
  EXPECT_EQ(std::string(f.what()).find("secret"), std::string::npos) << "the password leaked: " << f.what();
}

TEST_F(start_test, an_unopenable_sqlite_file_is_unavailable) {
  auto f = start_failure("sqlite:///dev/null/troupe.db");
  EXPECT_EQ(f.code(), errc::unavailable);
  EXPECT_NE(std::string(f.what()).find("/dev/null"), std::string::npos) << f.what();
}

TEST_F(start_test, an_unreachable_postgresql_server_is_unavailable) {
  // Port 1 on loopback: nothing listens there.
  auto f = start_failure("postgresql://troupe:secret@127.0.0.1:1/troupe");
  EXPECT_EQ(f.code(), errc::unavailable);
  EXPECT_NE(std::string(f.what()).find("127.0.0.1:1"), std::string::npos) << f.what();
  EXPECT_EQ(std::string(f.what()).find("secret"), std::string::npos) << "the password leaked: " << f.what();
}

TEST_F(start_test, bad_migration_versions_are_invalid_argument) {
  use(backend::sqlite);
  for (auto versions : {std::vector<int64_t>{0}, std::vector<int64_t>{1, 2, 1}}) {
    std::vector<migration> ms;
    for (auto v : versions)
      ms.push_back({v, "SELECT 1"});
    try {
      start(config(), ms);
      ADD_FAILURE() << "accepted";
    } catch (const failure& f) {
      EXPECT_EQ(f.code(), errc::invalid_argument) << f.what();
    }
  }
}

}  // namespace
}  // namespace troupe::db::testing
