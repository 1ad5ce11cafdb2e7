#include "users_service.hpp"

#include <algorithm>
#include <deque>
#include <iterator>
#include <limits>
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

// One user by id, or NOT_FOUND: GetUser's query, and GetUserSync's.
User read_user(troupe::db::connection& c, int64_t id) {
  auto [uid, name, email] = c.fetch_one<int64_t, std::string, std::string>(
    "no user " + std::to_string(id), "SELECT id, name, email FROM demo_users WHERE id = ?", id);
  return make_user(uid, std::move(name), std::move(email));
}

caf::behavior get_user(caf::actor pool, bool require_user, troupe::unary_actor<GetUserRequest, User> self) {
  return {
    [=](const GetUserRequest& req) {
      if (require_user)
        self.call().require_user();
      self.db(
        pool, [id = req.user_id()](troupe::db::connection& c) { return read_user(c, id); },
        [=](troupe::result<User> r) { self.reply(std::move(r)); });
    },
  };
}

// The same as a sync handler: the whole function is one job on a database
// worker, with that worker's connection (troupe/blocking.hpp).
troupe::result<User> get_user_sync(bool require_user, troupe::call& call, const GetUserRequest& req,
                                   troupe::db::connection& c) {
  if (require_user)
    call.require_user();
  return read_user(c, req.user_id());
}

// Keyset pagination: one page per database job, the next one only once the
// client has taken the previous one, so memory stays at a page (at most
// page_rows users or page_bytes, demo_db.hpp) plus the write window however
// large the table and however slow the client.
struct cursor_state {
  int64_t after_id = 0;
  int64_t remaining = 0;  // users still wanted
  bool last_page = false;
  page_lookahead lookahead;
  std::deque<User> page;
};
using cursor = troupe::server_stream_actor<StreamUsersRequest, User, cursor_state>;

bool exhausted(const cursor_state& s) { return s.last_page || s.remaining == 0; }

void fetch(cursor self, const caf::actor& pool);

// Writes what the page holds until the stream runs out of credit.
void drain(cursor self, const caf::actor& pool) {
  auto& s = self.state();
  while (!s.page.empty()) {
    bool room = self.write(s.page.front());
    s.page.pop_front();
    if (!room && !(s.page.empty() && exhausted(s)))
      return;  // write_credit drains again
  }
  if (exhausted(s))
    self.finish();
  else
    fetch(self, pool);
}

// One page (demo_db.hpp): its extent first, from the rows' sizes, then just
// those rows.
void fetch(cursor self, const caf::actor& pool) {
  auto& s = self.state();
  int64_t n = s.lookahead.rows(s.remaining);
  self.db(
    pool,
    [after = s.after_id, n](troupe::db::connection& c) {  // a worker: copies only
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
    [self, pool](troupe::result<page_of<User>> r) {  // back in the actor
      if (!r.ok())
        return self.fail(r.error());
      auto& s = self.state();
      auto& users = r->items;
      s.lookahead.learn(r->extent);
      s.last_page = !r->extent.more;
      s.remaining -= static_cast<int64_t>(users.size());
      if (!users.empty())
        s.after_id = users.back().id();
      s.page.assign(std::make_move_iterator(users.begin()), std::make_move_iterator(users.end()));
      drain(self, pool);
    });
}

caf::behavior stream_users(caf::actor pool, bool require_user, cursor self) {
  return {
    [=](const StreamUsersRequest& req) {
      if (require_user)
        self.call().require_user();
      if (req.limit() < 0)
        return self.fail(troupe::invalid_argument("limit must not be negative"));
      self.state().remaining = req.limit() > 0 ? req.limit() : std::numeric_limits<int64_t>::max();
      fetch(self, pool);
    },
    [=](troupe::write_credit) { drain(self, pool); },
  };
}

}  // namespace

troupe::service users_service(caf::actor pool, bool require_user) {
  troupe::service svc{"demo.v1.UserService"};
  svc.unary<CreateUserRequest, User>("CreateUser",
                                     [=](auto self) { return create_user(pool, require_user, self); });
  svc.unary<GetUserRequest, User>("GetUser", [=](auto self) { return get_user(pool, require_user, self); });
  svc.unary<GetUserRequest, User>(
    "GetUserSync", troupe::blocking(pool, [=](troupe::call& call, const GetUserRequest& req, troupe::db::connection& c) {
      return get_user_sync(require_user, call, req, c);
    }));
  // A stateful handle: the parameter names its type (cursor), not auto.
  svc.server_stream<StreamUsersRequest, User>(
    "StreamUsers", [=](cursor self) { return stream_users(pool, require_user, self); });
  return svc;
}

}  // namespace troupe::services
