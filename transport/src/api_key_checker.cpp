#include <list>
#include <mutex>
#include <unordered_map>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "key_hash.hpp"
#include "troupe/api_keys.hpp"
#include "troupe/db/run.hpp"

namespace troupe {

namespace {

using steady = std::chrono::steady_clock;

// How often counted uses are written.
constexpr auto usage_interval = std::chrono::seconds(1);
// Valid keys remembered; past this the least recently used one is forgotten.
constexpr size_t max_cached_keys = 100'000;

struct key_row {
  int64_t key_id = 0;
  int64_t user_id = 0;
  std::string user;
  std::optional<int64_t> expires_at_ms;
  std::optional<int64_t> revoked_at_ms;
};

struct lookup {
  std::string hash;
  std::string prefix;
};

struct usage {
  int64_t count = 0;
  int64_t last_used_ms = 0;
};
using usage_map = std::unordered_map<int64_t, usage>;

using arm_atom = caf::atom_constant<caf::atom("arm")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(wall_clock::now().time_since_epoch()).count();
}

}  // namespace

}  // namespace troupe

// Look-ups and their replies travel only between this process's threads.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::lookup)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::key_row)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::usage_map)

namespace troupe {

namespace {

// What the transport threads and the actor share.
//
// The cache holds valid keys only, at most max_cached_keys of them (~300
// bytes each plus the user's name: ~30 MB at most), least recently used
// first out. An entry outlives its verdict: past `fresh_until` (cache_ttl_s,
// or the key's expiry) the key is looked up again before its next call is
// served, but as a key known valid, which the transport does not throttle;
// it leaves the cache when that look-up refuses it. Refused keys are not
// remembered: the transport throttles their look-ups per address, so they
// can never crowd valid keys out.
struct shared_state {
  steady::duration ttl;

  struct cached {
    caller who;
    int64_t key_id = 0;
    steady::time_point fresh_until;
    std::list<const std::string*>::iterator in_use_order;
  };

  std::mutex mu;
  std::unordered_map<std::string, cached> cache;  // by key hash
  std::list<const std::string*> use_order;        // cache's keys, most recently used first
  // Replies waiting for the look-up of one hash (a burst of calls with a new
  // key costs one query, and one place in the transport's limiter).
  std::unordered_map<std::string, std::vector<key_checker::reply>> waiting;
  usage_map counted;  // uses not yet handed to the actor
  bool tick_armed = false;

  // Under mu. True when no write is scheduled yet.
  bool count_use(int64_t key_id) {
    auto& u = counted[key_id];
    ++u.count;
    u.last_used_ms = now_ms();
    if (tick_armed)
      return false;
    tick_armed = true;
    return true;
  }

  // Under mu.
  void remember(const std::string& hash, const caller& who, int64_t key_id, steady::time_point fresh_until) {
    auto [it, added] = cache.try_emplace(hash);
    if (added) {
      use_order.push_front(&it->first);
      it->second.in_use_order = use_order.begin();
    }
    it->second.who = who;
    it->second.key_id = key_id;
    it->second.fresh_until = fresh_until;
    if (cache.size() > max_cached_keys) {
      auto oldest = cache.find(*use_order.back());
      use_order.pop_back();
      cache.erase(oldest);
    }
  }

  // Under mu.
  void forget(const std::string& hash) {
    auto it = cache.find(hash);
    if (it == cache.end())
      return;
    use_order.erase(it->second.in_use_order);
    cache.erase(it);
  }

  usage_map take_counted() {
    std::lock_guard<std::mutex> lk(mu);
    tick_armed = false;
    return std::exchange(counted, {});
  }
};

std::optional<key_row> find_key(db::connection& c, const std::string& prefix, const std::string& hash) {
  std::optional<key_row> found;
  c.query("SELECT k.id, k.key_hash, k.expires_at_ms, k.revoked_at_ms, u.id, u.name"
          " FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.prefix = ?",
          prefix, [&](const db::row& r) {
            auto [key_id, stored, expires, revoked, user_id, user] =
              r.as<int64_t, std::string_view, std::optional<int64_t>, std::optional<int64_t>, int64_t,
                   std::string>();
            if (detail::same_hash(stored, hash))
              found = key_row{key_id, user_id, user, expires, revoked};
          });
  return found;
}

void write_usage(db::connection& c, const usage_map& uses) {
  c.transaction([&] {
    for (auto& [key_id, u] : uses)
      c.exec("UPDATE api_keys SET request_count = request_count + ?, last_used_at_ms = ? WHERE id = ?",
             u.count, u.last_used_ms, key_id);
  });
}

struct checker_state {
  std::shared_ptr<shared_state> shared;
  caf::actor pool;
  usage_map unwritten;
  bool writing = false;
  std::vector<caf::response_promise> flushes;

  static inline const char* name = "api_key_checker";
};

using checker_actor = caf::stateful_actor<checker_state>;

// The verdict for a key found (or not) in the database, and how long it holds.
std::pair<auth_verdict, steady::time_point> judge(const std::optional<key_row>& k, const std::string& prefix,
                                                  steady::duration ttl) {
  auto until = steady::now() + ttl;
  if (!k)
    return {auth_verdict::deny(unauthenticated("invalid API key")), until};
  auto now = now_ms();
  if (k->revoked_at_ms)
    return {auth_verdict::deny(unauthenticated("API key " + prefix + " is revoked")), until};
  if (k->expires_at_ms && *k->expires_at_ms <= now)
    return {auth_verdict::deny(unauthenticated("API key " + prefix + " has expired")), until};
  if (k->expires_at_ms)
    until = std::min(until, steady::now() + std::chrono::milliseconds(*k->expires_at_ms - now));
  return {auth_verdict::allow(caller{k->user_id, k->user, prefix}), until};
}

void merge(usage_map& into, const usage_map& from) {
  for (auto& [key_id, u] : from) {
    auto& w = into[key_id];
    w.count += u.count;
    w.last_used_ms = std::max(w.last_used_ms, u.last_used_ms);
  }
}

// Takes what was counted and writes it unless a write is in flight (one at a
// time); answers flushes once nothing is left.
void write_batch(checker_actor* self) {
  auto& st = self->state;
  merge(st.unwritten, st.shared->take_counted());
  if (st.writing)
    return;  // written when the one in flight is done
  if (st.unwritten.empty()) {
    for (auto& rp : st.flushes)
      rp.deliver(true);
    if (!st.flushes.empty())
      self->quit();
    return;
  }
  auto batch = std::make_shared<usage_map>(std::exchange(st.unwritten, {}));
  st.writing = true;
  db::run(self, st.pool, db::clock::time_point::max(), [batch](db::connection& c) { write_usage(c, *batch); },
          [self, batch](db::outcome<void> o) {
            auto& st = self->state;
            st.writing = false;
            if (o) {
              if (!st.unwritten.empty() || !st.flushes.empty())
                write_batch(self);
              return;
            }
            spdlog::error("auth: usage counts of {} keys not written: {}", batch->size(), to_string(o.error()));
            if (!st.flushes.empty()) {
              for (auto& rp : st.flushes)
                rp.deliver(false);
              self->quit();
              return;
            }
            // Kept for the next try: one entry per key, so this stays small.
            merge(st.unwritten, *batch);
            self->delayed_send(self, usage_interval, tick_atom::value);
          });
}

void on_looked_up(checker_actor* self, const std::string& hash, const std::string& prefix,
                  db::outcome<std::optional<key_row>> o) {
  auto& shared = *self->state.shared;
  auth_verdict verdict;
  if (!o) {
    // The cache is left as it was: the next call tries again.
    spdlog::warn("auth: cannot look API key {} up: {}", prefix, to_string(o.error()));
    verdict = auth_verdict::deny(unavailable("API keys cannot be checked right now"));
  }
  std::unique_lock<std::mutex> lk(shared.mu);
  auto replies = std::move(shared.waiting[hash]);
  shared.waiting.erase(hash);
  bool arm = false;
  if (o) {
    auto [v, until] = judge(*o, prefix, shared.ttl);
    verdict = std::move(v);
    if (verdict.st.ok()) {
      shared.remember(hash, *verdict.who, (*o)->key_id, until);
      for (size_t i = 0; i < replies.size(); ++i)
        arm = shared.count_use((*o)->key_id) || arm;
    } else {
      shared.forget(hash);
    }
  }
  lk.unlock();
  if (arm)
    self->delayed_send(self, usage_interval, tick_atom::value);
  for (auto& r : replies)
    r(verdict);
}

caf::behavior checker(checker_actor* self, std::shared_ptr<shared_state> shared, caf::actor pool) {
  self->state.shared = std::move(shared);
  self->state.pool = std::move(pool);
  return {
    [self](lookup& l) {
      db::run(self, self->state.pool, db::clock::time_point::max(),
              [prefix = l.prefix, hash = l.hash](db::connection& c) { return find_key(c, prefix, hash); },
              [self, hash = l.hash, prefix = l.prefix](db::outcome<std::optional<key_row>> o) {
                on_looked_up(self, hash, prefix, std::move(o));
              });
    },
    [self](arm_atom) { self->delayed_send(self, usage_interval, tick_atom::value); },
    [self](tick_atom) { write_batch(self); },
    [self](flush_atom) -> caf::result<bool> {
      auto rp = self->make_response_promise();
      self->state.flushes.push_back(rp);
      write_batch(self);
      return rp;
    },
  };
}

}  // namespace

struct api_key_checker::state {
  caf::actor_system& sys;
  std::shared_ptr<shared_state> shared = std::make_shared<shared_state>();
  caf::actor actor;

  explicit state(caf::actor_system& s) : sys(s) {}
};

api_key_checker::api_key_checker(caf::actor_system& sys, caf::actor pool, const auth_config& cfg)
    : state_(std::make_shared<state>(sys)) {
  state_->shared->ttl =
    std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(cfg.cache_ttl_s));
  state_->actor = sys.spawn(checker, state_->shared, std::move(pool));
}

api_key_checker::~api_key_checker() {
  // Without a flush, the actor would keep the actor system from shutting down.
  caf::anon_send_exit(state_->actor, caf::exit_reason::user_shutdown);
}

std::optional<auth_verdict> api_key_checker::check(std::string_view key, const guess_admission& admit,
                                                   reply later) {
  if (!detail::well_formed_api_key(key))
    return auth_verdict::deny(unauthenticated("invalid API key"));
  auto hash = detail::api_key_hash(key);
  auto& shared = *state_->shared;
  std::unique_lock<std::mutex> lk(shared.mu);
  auto cached = shared.cache.find(hash);
  if (cached != shared.cache.end() && steady::now() < cached->second.fresh_until) {
    auto& c = cached->second;
    shared.use_order.splice(shared.use_order.begin(), shared.use_order, c.in_use_order);
    bool arm = shared.count_use(c.key_id);
    auto verdict = auth_verdict::allow(c.who);
    lk.unlock();
    if (arm)
      caf::anon_send(state_->actor, arm_atom::value);
    return verdict;
  }
  // Decided under mu, so that a key being looked up is never looked up twice
  // at once, nor admitted as a guess while it waits.
  if (auto w = shared.waiting.find(hash); w != shared.waiting.end()) {
    w->second.push_back(std::move(later));
    return std::nullopt;
  }
  if (cached == shared.cache.end()) {
    if (auto refused = admit())
      return refused;
  }
  shared.waiting[hash].push_back(std::move(later));
  lk.unlock();
  caf::anon_send(state_->actor, lookup{std::move(hash), std::string(key.substr(0, detail::api_key_prefix_length))});
  return std::nullopt;
}

bool api_key_checker::flush(std::chrono::milliseconds timeout) {
  caf::scoped_actor self{state_->sys};
  bool written = false;
  self->request(state_->actor, timeout, flush_atom::value)
    .receive([&](bool all_written) { written = all_written; },
             [&](caf::error& e) { spdlog::warn("auth: usage flush did not complete: {}", state_->sys.render(e)); });
  return written;
}

}  // namespace troupe
