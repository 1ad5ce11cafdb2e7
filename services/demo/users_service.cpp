#include "users_service.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "demo/v1/users.pb.h"
#include "demo_db.hpp"

namespace troupe::services {

namespace {

using demo::v1::CreateUserRequest;
using demo::v1::GetUserRequest;
using demo::v1::StreamUsersRequest;
using demo::v1::User;

User make_user(int64_t id, std::string name, std::string email) {
  User u;
  u.set_id(id);
  u.set_name(std::move(name));
  u.set_email(std::move(email));
  return u;
}

// Well formed: exactly one '@' with text on both sides.
bool valid_email(const std::string& email) {
  auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos;
}

caf::behavior create_user(caf::actor pool, bool require_user, troupe::unary_actor<CreateUserRequest, User> self) {
  return {
    [=](const CreateUserRequest& req) {
      if (require_user)
        self.call().require_user();
      if (req.name().empty())
        return self.fail(troupe::invalid_argument("name must not be empty"));
      if (!valid_email(req.email()))
        return self.fail(troupe::invalid_argument("malformed email: " + req.email()));
      self.db(
        pool,
        [name = req.name(), email = req.email()](troupe::db::connection& c) {
          return c.transaction([&] {
            int64_t id = next_id(c, "users");
            c.exec("INSERT INTO demo_users (id, name, email) VALUES (?, ?, ?)", id, name, email);
            return make_user(id, name, email);
          });
        },
        [=](troupe::result<User> r) {
          if (!r.ok() && r.error().error_code() == troupe::status_code::ALREADY_EXISTS)
            return self.fail(troupe::already_exists("a user with email " + req.email() + " exists"));
          self.reply(std::move(r));
        });
    },
  };
}

caf::behavior get_user(caf::actor pool, bool require_user, troupe::unary_actor<GetUserRequest, User> self) {
  return {
    [=](const GetUserRequest& req) {
      if (require_user)
        self.call().require_user();
      self.db(
        pool,
        [id = req.user_id()](troupe::db::connection& c) {
          auto [uid, name, email] = c.fetch_one<int64_t, std::string, std::string>(
            "no user " + std::to_string(id), "SELECT id, name, email FROM demo_users WHERE id = ?", id);
          return make_user(uid, std::move(name), std::move(email));
        },
        [=](troupe::result<User> r) { self.reply(std::move(r)); });
    },
  };
}

// Keyset pagination: one page per database job, the next one only once the
// client has taken the previous one, so memory stays at a page (at most
// page_rows users or page_bytes, demo_db.hpp) plus the write window however
// large the table and however slow the client.
class user_cursor : public std::enable_shared_from_this<user_cursor> {
public:
  using handle = troupe::server_stream_actor<StreamUsersRequest, User>;

  user_cursor(caf::actor pool, handle self) : pool_(std::move(pool)), self_(std::move(self)) {}

  void start(int64_t limit) {
    remaining_ = limit > 0 ? limit : std::numeric_limits<int64_t>::max();
    fetch();
  }

  // Writes what the page holds until the stream runs out of credit.
  void drain() {
    while (!page_.empty()) {
      bool room = self_.write(page_.front());
      page_.pop_front();
      if (!room && !(page_.empty() && exhausted()))
        return;  // write_credit calls drain again
    }
    if (exhausted())
      self_.finish();
    else
      fetch();
  }

private:
  bool exhausted() const { return last_page_ || remaining_ == 0; }

  // One page (demo_db.hpp): its extent first, from the rows' sizes, then
  // just those rows.
  void fetch() {
    int64_t n = lookahead_.rows(remaining_);
    self_.db(
      pool_,
      [after = after_id_, n](troupe::db::connection& c) {
        page_of<User> page;
        page.extent = measure_page(c, n,
                                   "SELECT id, " + octet_length(c, "name") + " + " + octet_length(c, "email") +
                                     " FROM demo_users WHERE id > ? ORDER BY id LIMIT ?",
                                   after);
        if (page.extent.rows == 0)
          return page;
        c.query("SELECT id, name, email FROM demo_users WHERE id > ? AND id <= ? ORDER BY id LIMIT ?", after,
                page.extent.last_id, page.extent.rows, [&](const troupe::db::row& r) {
                  auto [id, name, email] = r.as<int64_t, std::string, std::string>();
                  page.items.push_back(make_user(id, std::move(name), std::move(email)));
                });
        return page;
      },
      [cursor = shared_from_this()](troupe::result<page_of<User>> r) {
        if (!r.ok())
          return cursor->self_.fail(r.error());
        auto& users = r->items;
        cursor->lookahead_.learn(r->extent);
        cursor->last_page_ = !r->extent.more;
        cursor->remaining_ -= static_cast<int64_t>(users.size());
        if (!users.empty())
          cursor->after_id_ = users.back().id();
        cursor->page_.assign(std::make_move_iterator(users.begin()), std::make_move_iterator(users.end()));
        cursor->drain();
      });
  }

  caf::actor pool_;
  handle self_;
  int64_t after_id_ = 0;
  int64_t remaining_ = 0;  // users still wanted
  bool last_page_ = false;
  page_lookahead lookahead_;
  std::deque<User> page_;
};

caf::behavior stream_users(caf::actor pool, bool require_user, user_cursor::handle self) {
  auto cursor = std::make_shared<user_cursor>(std::move(pool), self);
  return {
    [=](const StreamUsersRequest& req) {
      if (require_user)
        self.call().require_user();
      if (req.limit() < 0)
        return self.fail(troupe::invalid_argument("limit must not be negative"));
      cursor->start(req.limit());
    },
    [=](troupe::write_credit) { cursor->drain(); },
  };
}

}  // namespace

troupe::service users_service(caf::actor pool, bool require_user) {
  troupe::service svc{"demo.v1.UserService"};
  svc.unary<CreateUserRequest, User>("CreateUser",
                                     [=](auto self) { return create_user(pool, require_user, self); });
  svc.unary<GetUserRequest, User>("GetUser", [=](auto self) { return get_user(pool, require_user, self); });
  svc.server_stream<StreamUsersRequest, User>(
    "StreamUsers", [=](auto self) { return stream_users(pool, require_user, self); });
  return svc;
}

}  // namespace troupe::services
