// Database helpers shared by the demo services.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include <troupe/call_actor.hpp>

namespace troupe::services {

// Streams fed from the database send one page per job, the next only once the
// client has taken the last. A page ends at page_rows rows or before the row
// that would take it past page_bytes, whichever comes first, and holds at
// least one row, so a stream always moves on: besides the transport's write
// window a stream holds at most page_bytes, or one row larger than that (a
// row fits max_send_message_bytes, or it could not be sent).
constexpr int64_t page_rows = 256;
constexpr int64_t page_bytes = 1024 * 1024;

// Where a page ends, found from its rows' sizes before the rows are read.
struct page_extent {
  int64_t rows = 0;     // how many
  int64_t last_id = 0;  // the id of its last row (when rows > 0)
  bool more = false;    // rows may follow it
  bool cut = false;     // page_bytes ended it
};

// Runs `sizes_sql`, a query for (id, the row's size in bytes) in id order that
// ends in LIMIT ?, with `args` and `limit`, and takes rows while they fit.
template <class... Args>
page_extent measure_page(troupe::db::connection& c, int64_t limit, std::string_view sizes_sql, const Args&... args) {
  page_extent page;
  int64_t bytes = 0, seen = 0;
  c.query(sizes_sql, args..., limit, [&](const troupe::db::row& r) {
    ++seen;
    auto [id, size] = r.as<int64_t, int64_t>();
    if (page.cut || (page.rows > 0 && bytes + size > page_bytes)) {
      page.cut = true;
      return;
    }
    bytes += size;
    ++page.rows;
    page.last_id = id;
  });
  page.more = page.cut || seen == limit;
  return page;
}

// How many rows the next page's size query looks at. Sizing reads each row's
// values, so rows past the budget cost reading for nothing: after a page that
// page_bytes cut at k rows the next looks at k + 1, and it doubles again (up
// to page_rows) while pages end by rows. A stream of large rows then reads
// about one row more per page, not page_rows more.
class page_lookahead {
public:
  int64_t rows(int64_t wanted) const { return std::min(wanted, rows_); }
  void learn(const page_extent& e) { rows_ = e.cut ? e.rows + 1 : std::min(page_rows, rows_ * 2); }

private:
  int64_t rows_ = page_rows;
};

// What a page job returns.
template <class T>
struct page_of {
  std::vector<T> items;
  page_extent extent;
};

// SQL for the size in bytes of text column `column` (SQLite before 3.43 has no
// octet_length).
std::string octet_length(const troupe::db::connection& c, const char* column);

// Hands out the next id of counter `name` (a row of demo_counters). Inside a
// transaction the row stays locked until commit, and a rollback returns the id.
int64_t next_id(troupe::db::connection& c, const char* name);

}  // namespace troupe::services
