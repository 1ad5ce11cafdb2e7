// The engine's methods: messages read and written through reflection, SQL
// generated from the model with every value bound.
#include <charconv>
#include <chrono>
#include <set>

#include <google/protobuf/reflection.h>

#include "detail.hpp"

namespace troupe::models {

namespace pb = google::protobuf;

namespace {

// Thrown from a stream's row callback to stop the cursor once the call is over.
struct stop_stream {};

const pb::FieldDescriptor* request_field(const pb::Message& m, const char* name) {
  const auto* f = m.GetDescriptor()->FindFieldByName(name);
  if (!f)
    throw std::logic_error(m.GetDescriptor()->full_name() + " has no field " + name);
  return f;
}

std::string get_string(const pb::Message& m, const char* name) {
  return m.GetReflection()->GetString(m, request_field(m, name));
}

int64_t get_integer(const pb::Message& m, const char* name) {
  const auto* f = request_field(m, name);
  const auto* r = m.GetReflection();
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      return r->GetInt32(m, f);
    case pb::FieldDescriptor::CPPTYPE_INT64:
      return r->GetInt64(m, f);
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      return r->GetUInt32(m, f);
    default:
      throw std::logic_error(m.GetDescriptor()->full_name() + "." + name + " is not an integer");
  }
}

bool get_bool(const pb::Message& m, const char* name) {
  return m.GetReflection()->GetBool(m, request_field(m, name));
}

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
    .count();
}

int64_t timestamp_micros(const pb::Message& ts) {
  const auto* d = ts.GetDescriptor();
  const auto* r = ts.GetReflection();
  return r->GetInt64(ts, d->FindFieldByName("seconds")) * 1000000 + r->GetInt32(ts, d->FindFieldByName("nanos")) / 1000;
}

void set_timestamp(pb::Message& ts, int64_t us) {
  const auto* d = ts.GetDescriptor();
  const auto* r = ts.GetReflection();
  int64_t secs = us / 1000000;
  int64_t rem = us % 1000000;
  if (rem < 0) {
    rem += 1000000;
    --secs;
  }
  r->SetInt64(&ts, d->FindFieldByName("seconds"), secs);
  r->SetInt32(&ts, d->FindFieldByName("nanos"), static_cast<int32_t>(rem * 1000));
}

// The column's value in a message (writable columns).
value value_of(const column& c, const pb::Message& m) {
  const auto* r = m.GetReflection();
  const auto* f = c.field;
  if (c.nullable && !r->HasField(m, f))
    return std::monostate{};
  switch (c.type) {
    case kind::integer:
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32:
          return int64_t{r->GetInt32(m, f)};
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          return int64_t{r->GetUInt32(m, f)};
        default:
          return r->GetInt64(m, f);
      }
    case kind::boolean:
      return int64_t{r->GetBool(m, f)};
    case kind::text:
      return r->GetString(m, f);
    case kind::enumeration:
      return int64_t{r->GetEnumValue(m, f)};
    case kind::timestamp:
      return r->HasField(m, f) ? timestamp_micros(r->GetMessage(m, f)) : int64_t{0};
  }
  return std::monostate{};
}

// Whether a field counts as set in a request without an update_mask.
bool is_set(const column& c, const pb::Message& m) {
  const auto* r = m.GetReflection();
  if (c.nullable || c.type == kind::timestamp)
    return r->HasField(m, c.field);
  auto v = value_of(c, m);
  if (auto* i = std::get_if<int64_t>(&v))
    return *i != 0;
  if (auto* s = std::get_if<std::string>(&v))
    return !s->empty();
  return false;
}

status check_value(const column& c, const value& v) {
  if (std::holds_alternative<std::monostate>(v))
    return status::OK;  // only nullable columns give one
  const std::string& f = c.name;
  if (auto* s = std::get_if<std::string>(&v)) {
    auto n = detail::utf8_length(*s);
    if (!n)
      return invalid_argument(f + ": not valid UTF-8");
    if (c.required && s->empty())
      return invalid_argument(f + ": required");
    if ((c.min_length && *n < *c.min_length) || (c.max_length && *n > *c.max_length))
      return invalid_argument(f + ": must be " + std::to_string(c.min_length.value_or(0)) + ".." +
                              std::to_string(c.max_length.value_or(INT64_MAX)) + " characters (got " +
                              std::to_string(*n) + ")");
    return status::OK;
  }
  int64_t i = std::get<int64_t>(v);
  if (c.type == kind::enumeration) {
    if (!c.field->enum_type()->FindValueByNumber(static_cast<int>(i)))
      return invalid_argument(f + ": " + std::to_string(i) + " is not a defined " + c.field->enum_type()->name());
  }
  if (c.required && i == 0)
    return invalid_argument(f + ": required");
  if ((c.min_value && i < *c.min_value) || (c.max_value && i > *c.max_value))
    return invalid_argument(f + ": must be in " + std::to_string(*c.min_value) + ".." + std::to_string(*c.max_value) +
                            " (got " + std::to_string(i) + ")");
  return status::OK;
}

status aborted(std::string msg) {
  return {status_code::ABORTED, std::move(msg)};
}

}  // namespace

engine::engine(std::shared_ptr<const model> m) : m_(std::move(m)) {}

namespace {

std::string select_list(const model& m) {
  std::string s;
  for (auto& c : m.columns()) {
    if (!s.empty())
      s += ", ";
    s += c.name;
  }
  return s;
}

void read_row(const model& m, const db::row& row, pb::Message& out) {
  const auto* r = out.GetReflection();
  for (size_t i = 0; i < m.columns().size(); ++i) {
    const auto& c = m.columns()[i];
    const auto* f = c.field;
    if (row.is_null(i)) {
      r->ClearField(&out, f);
      continue;
    }
    if (c.part == role::etag) {
      r->SetString(&out, f, std::to_string(row.get<int64_t>(i)));
      continue;
    }
    switch (c.type) {
      case kind::integer:
        switch (f->cpp_type()) {
          case pb::FieldDescriptor::CPPTYPE_INT32:
            r->SetInt32(&out, f, row.get<int32_t>(i));
            break;
          case pb::FieldDescriptor::CPPTYPE_UINT32:
            r->SetUInt32(&out, f, row.get<uint32_t>(i));
            break;
          default:
            r->SetInt64(&out, f, row.get<int64_t>(i));
        }
        break;
      case kind::boolean:
        r->SetBool(&out, f, row.get<bool>(i));
        break;
      case kind::text:
        r->SetString(&out, f, row.get<std::string>(i));
        break;
      case kind::enumeration:
        r->SetEnumValue(&out, f, row.get<int>(i));
        break;
      case kind::timestamp:
        set_timestamp(*r->MutableMessage(&out, f), row.get<int64_t>(i));
        break;
    }
  }
}

value key_of(const column& c, const db::row& row, size_t i) {
  if (c.type == kind::text)
    return row.get<std::string>(i);
  if (c.type == kind::boolean)
    return int64_t{row.get<bool>(i)};
  return row.get<int64_t>(i);
}

std::string unique_message(const model& m) {
  std::string fields;
  for (auto& c : m.columns())
    if (c.unique)
      fields += (fields.empty() ? "" : " or ") + c.name;
  return "a " + m.descriptor()->name() + " with the same " + (fields.empty() ? std::string("key") : fields) +
         " already exists";
}

// Column index of each sort key in the select list.
size_t index_of(const model& m, const column* c) {
  return static_cast<size_t>(c - m.columns().data());
}

struct query_plan {
  std::string where;
  std::vector<value> params;
  std::string order;
};

result<query_plan> plan(const model& m, db::backend kind, const std::string& filter,
                        const std::vector<sort_key>& keys) {
  auto f = parse_filter(m, filter, kind);
  if (!f.ok())
    return f.error();
  query_plan p;
  p.where = f->sql;
  p.params = std::move(f->params);
  for (auto& k : keys) {
    if (!p.order.empty())
      p.order += ", ";
    p.order += detail::sortable_sql(*k.col, kind) + (k.desc ? " DESC" : " ASC");
  }
  return p;
}

}  // namespace

const pb::Message& engine::resource_in(const pb::Message& req) const {
  const auto* d = req.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (!f->is_repeated() && f->message_type() == m_->descriptor())
      return req.GetReflection()->GetMessage(req, f);
  }
  throw std::logic_error(d->full_name() + " has no " + m_->descriptor()->full_name() + " field");
}

status engine::create(db::connection& c, const pb::Message& resource, pb::Message& out) const {
  const model& m = *m_;
  std::vector<value> vals;
  std::string names, marks;
  auto add = [&](const std::string& name, value v) {
    names += (names.empty() ? "" : ", ") + name;
    marks += marks.empty() ? "?" : ", ?";
    vals.push_back(std::move(v));
  };
  int64_t now = now_micros();
  for (auto& col : m.columns()) {
    if (col.part == role::id)
      continue;  // added first, below
    if (col.part == role::update_time) {
      add(col.name, now);
    } else if (col.part == role::etag) {
      add(col.name, int64_t{1});
    } else {
      auto v = value_of(col, resource);
      auto st = check_value(col, v);
      if (!st.ok())
        return st;
      add(col.name, std::move(v));
    }
  }
  try {
    bool got = false;
    c.transaction([&] {
      auto [id] = c.fetch_one<int64_t>("no id counter for table " + m.table(),
                                       "UPDATE troupe_model_ids SET last_id = last_id + 1 WHERE name = ? RETURNING last_id",
                                       m.table());
      std::vector<value> all{id};
      all.insert(all.end(), vals.begin(), vals.end());
      std::string sql = "INSERT INTO " + m.table() + " (" + m.id_column().name + ", " + names + ") VALUES (?, " +
                        marks + ") RETURNING " + select_list(m);
      auto ps = detail::params_of(all);
      c.query_bound(sql, ps.data(), ps.size(), [&](const db::row& r) {
        read_row(m, r, out);
        got = true;
      });
    });
    if (!got)
      return status{status_code::INTERNAL, "insert returned no row"};
  } catch (const db::failure& e) {
    if (e.code() == db::errc::already_exists)
      return already_exists(unique_message(m));
    throw;
  }
  return status::OK;
}

status engine::get(db::connection& c, int64_t id, pb::Message& out) const {
  const model& m = *m_;
  if (id <= 0)
    return invalid_argument(m.id_column().name + ": must be positive");
  bool got = false;
  c.query("SELECT " + select_list(m) + " FROM " + m.table() + " WHERE " + m.id_column().name + " = ?", id,
          [&](const db::row& r) {
            read_row(m, r, out);
            got = true;
          });
  if (!got)
    return not_found("no " + m.descriptor()->name() + " " + std::to_string(id));
  return status::OK;
}

status engine::list(db::connection& c, const pb::Message& req, pb::Message& resp) const {
  const model& m = *m_;
  int64_t page_size = get_integer(req, "page_size");
  if (page_size < 0)
    return invalid_argument("page_size: must not be negative");
  if (page_size == 0)
    page_size = 50;
  if (page_size > 1000)
    page_size = 1000;
  std::string filter = get_string(req, "filter");
  std::string order_by = get_string(req, "order_by");
  std::string token = get_string(req, "page_token");
  auto keys = parse_order_by(m, order_by);
  if (!keys.ok())
    return keys.error();
  auto p = plan(m, c.kind(), filter, *keys);
  if (!p.ok())
    return p.error();

  std::string base_where = p->where;
  std::vector<value> base_params = p->params;
  std::string where = base_where;
  std::vector<value> params = base_params;
  if (!token.empty()) {
    auto after = decode_page_token(token, filter, order_by, *keys);
    if (!after.ok())
      return after.error();
    // Rows strictly after the last one seen, in the sort order.
    std::string keyset;
    for (size_t i = 0; i < keys->size(); ++i) {
      std::string conj;
      for (size_t j = 0; j <= i; ++j) {
        const auto& k = (*keys)[j];
        std::string op = j < i ? " = ?" : (k.desc ? " < ?" : " > ?");
        conj += (j ? " AND " : "") + detail::sortable_sql(*k.col, c.kind()) + op;
        params.push_back((*after)[j]);
      }
      keyset += (i ? " OR (" : "(") + conj + ")";
    }
    where = where.empty() ? "(" + keyset + ")" : "(" + where + ") AND (" + keyset + ")";
  }
  params.emplace_back(page_size + 1);
  std::string sql = "SELECT " + select_list(m) + " FROM " + m.table() + (where.empty() ? "" : " WHERE " + where) +
                    " ORDER BY " + p->order + " LIMIT ?";

  const auto* rd = resp.GetDescriptor();
  const pb::FieldDescriptor* items = nullptr;
  for (int i = 0; i < rd->field_count(); ++i)
    if (rd->field(i)->is_repeated() && rd->field(i)->message_type() == m.descriptor())
      items = rd->field(i);
  if (!items)
    throw std::logic_error(rd->full_name() + " has no repeated " + m.descriptor()->full_name());
  const auto* rr = resp.GetReflection();
  int64_t n = 0;
  bool more = false;
  std::vector<value> last;
  auto ps = detail::params_of(params);
  c.query_bound(sql, ps.data(), ps.size(), [&](const db::row& r) {
    if (n == page_size) {
      more = true;
      return;
    }
    ++n;
    read_row(m, r, *rr->AddMessage(&resp, items));
    last.clear();
    for (auto& k : *keys)
      last.push_back(key_of(*k.col, r, index_of(m, k.col)));
  });
  if (more)
    rr->SetString(&resp, request_field(resp, "next_page_token"), encode_page_token(filter, order_by, last));
  if (get_bool(req, "include_total_size")) {
    auto bps = detail::params_of(base_params);
    int64_t total = 0;
    c.query_bound("SELECT count(*) FROM " + m.table() + (base_where.empty() ? "" : " WHERE " + base_where),
                  bps.data(), bps.size(), [&](const db::row& r) { total = r.get<int64_t>(0); });
    const auto* tf = request_field(resp, "total_size");
    if (tf->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32)
      rr->SetInt32(&resp, tf, static_cast<int32_t>(total));
    else
      rr->SetInt64(&resp, tf, total);
  }
  return status::OK;
}

status engine::stream(db::connection& c, const pb::Message& req, pb::Message& scratch,
                      const std::function<bool()>& emit) const {
  const model& m = *m_;
  int64_t max_rows = get_integer(req, "max_rows");
  if (max_rows < 0)
    return invalid_argument("max_rows: must not be negative");
  auto keys = parse_order_by(m, get_string(req, "order_by"));
  if (!keys.ok())
    return keys.error();
  auto p = plan(m, c.kind(), get_string(req, "filter"), *keys);
  if (!p.ok())
    return p.error();
  std::string sql = "SELECT " + select_list(m) + " FROM " + m.table() + (p->where.empty() ? "" : " WHERE " + p->where) +
                    " ORDER BY " + p->order;
  if (max_rows > 0) {
    sql += " LIMIT ?";
    p->params.emplace_back(max_rows);
  }
  auto ps = detail::params_of(p->params);
  try {
    c.query_bound(sql, ps.data(), ps.size(), [&](const db::row& r) {
      scratch.Clear();
      read_row(m, r, scratch);
      if (!emit())
        throw stop_stream{};
    });
  } catch (const stop_stream&) {
    // The call is over: its status is already decided.
  }
  return status::OK;
}

status engine::update(db::connection& c, const pb::Message& req, pb::Message& out) const {
  const model& m = *m_;
  const pb::Message& res = resource_in(req);
  const column& idc = m.id_column();
  int64_t id = std::get<int64_t>(value_of(idc, res));
  if (id <= 0)
    return invalid_argument(idc.name + ": must be positive");

  // The columns to write.
  std::vector<const column*> masked;
  const auto* mask_field = request_field(req, "update_mask");
  const auto* rr = req.GetReflection();
  std::vector<std::string> paths;
  if (rr->HasField(req, mask_field)) {
    const auto& mask = rr->GetMessage(req, mask_field);
    const auto* pf = mask.GetDescriptor()->FindFieldByName("paths");
    for (int i = 0; i < mask.GetReflection()->FieldSize(mask, pf); ++i)
      paths.push_back(mask.GetReflection()->GetRepeatedString(mask, pf, i));
  }
  if (paths.empty()) {
    for (auto& col : m.columns())
      if (col.writable() && is_set(col, res))
        masked.push_back(&col);
  } else if (paths.size() == 1 && paths[0] == "*") {
    for (auto& col : m.columns())
      if (col.writable())
        masked.push_back(&col);
  } else {
    std::set<std::string> seen;
    for (auto& path : paths) {
      if (path == "*")
        return invalid_argument("update_mask: * must be the only path");
      if (path.find('.') != std::string::npos)
        return invalid_argument("update_mask: nested path " + path);
      const column* col = m.find(path);
      if (!col)
        return invalid_argument("update_mask: " + path + " is not a field of " + m.descriptor()->name());
      if (!col->writable() || !seen.insert(path).second)
        continue;  // output-only fields are ignored
      masked.push_back(col);
    }
  }

  return write_columns(c, res, masked, out);
}

status engine::write_columns(db::connection& c, const pb::Message& res, const std::vector<const column*>& masked,
                             pb::Message& out) const {
  const model& m = *m_;
  const column& idc = m.id_column();
  int64_t id = std::get<int64_t>(value_of(idc, res));
  if (id <= 0)
    return invalid_argument(idc.name + ": must be positive");
  std::string sets;
  std::vector<value> params;
  for (const column* col : masked) {
    auto v = value_of(*col, res);
    auto st = check_value(*col, v);
    if (!st.ok())
      return st;
    sets += (sets.empty() ? "" : ", ") + col->name + " = ?";
    params.push_back(std::move(v));
  }
  if (const column* ut = m.update_time_column()) {
    sets += (sets.empty() ? "" : ", ") + ut->name + " = ?";
    params.emplace_back(now_micros());
  }
  const column* et = m.etag_column();
  if (et)
    sets += (sets.empty() ? "" : ", ") + et->name + " = " + et->name + " + 1";
  if (sets.empty())
    return get(c, id, out);
  std::string sql = "UPDATE " + m.table() + " SET " + sets + " WHERE " + idc.name + " = ?";
  params.emplace_back(id);
  if (et) {
    std::string given = res.GetReflection()->GetString(res, et->field);
    if (!given.empty()) {
      int64_t rev = -1;
      auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), rev);
      if (ec != std::errc() || end != given.data() + given.size())
        rev = -1;  // matches no row
      sql += " AND " + et->name + " = ?";
      params.emplace_back(rev);
    }
  }
  sql += " RETURNING " + select_list(m);
  bool got = false;
  try {
    auto ps = detail::params_of(params);
    c.query_bound(sql, ps.data(), ps.size(), [&](const db::row& r) {
      read_row(m, r, out);
      got = true;
    });
  } catch (const db::failure& e) {
    if (e.code() == db::errc::already_exists)
      return already_exists(unique_message(m));
    throw;
  }
  if (got)
    return status::OK;
  auto exists = c.query_one<int64_t>("SELECT " + idc.name + " FROM " + m.table() + " WHERE " + idc.name + " = ?", id);
  if (!exists)
    return not_found("no " + m.descriptor()->name() + " " + std::to_string(id));
  return aborted(et->name + ": does not match the current one (the row changed); read it again");
}

status engine::remove(db::connection& c, const pb::Message& req) const {
  return remove_row(c, get_integer(req, "id"), get_string(req, "etag"), get_bool(req, "allow_missing"));
}

status engine::remove_row(db::connection& c, int64_t id, const std::string& given, bool allow_missing) const {
  const model& m = *m_;
  const column& idc = m.id_column();
  if (id <= 0)
    return invalid_argument(idc.name + ": must be positive");
  std::string sql = "DELETE FROM " + m.table() + " WHERE " + idc.name + " = ?";
  std::vector<value> params{id};
  const column* et = m.etag_column();
  if (et) {
    if (!given.empty()) {
      int64_t rev = -1;
      auto [end, ec] = std::from_chars(given.data(), given.data() + given.size(), rev);
      if (ec != std::errc() || end != given.data() + given.size())
        rev = -1;
      sql += " AND " + et->name + " = ?";
      params.emplace_back(rev);
    }
  }
  auto ps = detail::params_of(params);
  if (c.exec_bound(sql, ps.data(), ps.size()) > 0)
    return status::OK;
  auto exists = c.query_one<int64_t>("SELECT " + idc.name + " FROM " + m.table() + " WHERE " + idc.name + " = ?", id);
  if (exists)
    return aborted(et->name + ": does not match the current one (the row changed); read it again");
  if (allow_missing)
    return status::OK;
  return not_found("no " + m.descriptor()->name() + " " + std::to_string(id));
}

status engine::select(db::connection& c, const sql_part& where, const std::vector<sort_key>& order, int64_t limit,
                      int64_t offset, pb::Message& scratch, const std::function<bool()>& on_row) const {
  const model& m = *m_;
  std::string sql = "SELECT " + select_list(m) + " FROM " + m.table() + (where.sql.empty() ? "" : " WHERE " + where.sql);
  std::string ord;
  for (auto& k : order)
    ord += (ord.empty() ? "" : ", ") + detail::sortable_sql(*k.col, c.kind()) + (k.desc ? " DESC" : " ASC");
  sql += " ORDER BY " + ord;
  std::vector<value> params = where.params;
  if (limit > 0 || offset > 0) {
    sql += " LIMIT ? OFFSET ?";
    params.emplace_back(limit > 0 ? limit : INT64_MAX);
    params.emplace_back(offset);
  }
  auto ps = detail::params_of(params);
  try {
    c.query_bound(sql, ps.data(), ps.size(), [&](const db::row& r) {
      scratch.Clear();
      read_row(m, r, scratch);
      if (!on_row())
        throw stop_stream{};
    });
  } catch (const stop_stream&) {
    // The caller stopped: the call is over, or it has what it wanted.
  }
  return status::OK;
}

int64_t engine::count(db::connection& c, const sql_part& where) const {
  auto ps = detail::params_of(where.params);
  int64_t total = 0;
  c.query_bound("SELECT count(*) FROM " + m_->table() + (where.sql.empty() ? "" : " WHERE " + where.sql), ps.data(),
                ps.size(), [&](const db::row& r) { total = r.get<int64_t>(0); });
  return total;
}

}  // namespace troupe::models
