// A model's declaration: its columns from the message's descriptor, its
// migration and the start-up check of an existing table.
#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

#include <caf/all.hpp>

#include "troupe/db/job.hpp"
#include "troupe/db/run.hpp"
#include "troupe/models/model.hpp"

namespace troupe::models {

namespace pb = google::protobuf;

const char* column::sql_type() const {
  if (part == role::etag)
    return "BIGINT";  // a revision counter, sent as its decimal text
  switch (type) {
    case kind::boolean:
      return "BOOLEAN";
    case kind::text:
      return "TEXT";
    default:
      return "BIGINT";
  }
}

model::model(const pb::Descriptor* message, std::string table)
    : descriptor_(message), table_(std::move(table)), plural_(message->name() + "s") {
  for (int i = 0; i < message->field_count(); ++i) {
    const auto* f = message->field(i);
    column c;
    c.name = f->name();
    c.field = f;
    std::string where = message->full_name() + "." + f->name();
    if (f->is_repeated())
      throw std::invalid_argument(where + ": repeated fields are not stored by models");
    if (f->real_containing_oneof())
      throw std::invalid_argument(where + ": oneof fields are not stored by models");
    c.nullable = f->has_optional_keyword();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
      case pb::FieldDescriptor::CPPTYPE_INT64:
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        c.type = kind::integer;
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        c.type = kind::boolean;
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        if (f->type() == pb::FieldDescriptor::TYPE_BYTES)
          throw std::invalid_argument(where + ": bytes fields are not stored by models");
        c.type = kind::text;
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        c.type = kind::enumeration;
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (f->message_type()->full_name() != "google.protobuf.Timestamp")
          throw std::invalid_argument(where + ": only google.protobuf.Timestamp messages are stored by models");
        c.type = kind::timestamp;
        c.nullable = false;  // an unset Timestamp is stored as 0 (the epoch)
        break;
      default:
        throw std::invalid_argument(where + ": uint64, float and double fields are not stored by models");
    }
    columns_.push_back(std::move(c));
  }
}

column& model::at(const std::string& field) {
  for (auto& c : columns_)
    if (c.name == field)
      return c;
  throw std::invalid_argument(descriptor_->full_name() + " has no field " + field);
}

const column* model::find(std::string_view name) const {
  for (auto& c : columns_)
    if (c.name == name)
      return &c;
  return nullptr;
}

model& model::id(const std::string& field) {
  auto& c = at(field);
  if (c.field->cpp_type() != pb::FieldDescriptor::CPPTYPE_INT64 || c.nullable)
    throw std::invalid_argument(descriptor_->full_name() + "." + field + ": the id must be a plain int64");
  c.part = role::id;
  c.sortable = true;
  return *this;
}

model& model::update_time(const std::string& field) {
  auto& c = at(field);
  if (c.type != kind::timestamp)
    throw std::invalid_argument(descriptor_->full_name() + "." + field + ": update_time must be a Timestamp");
  c.part = role::update_time;
  return *this;
}

model& model::etag(const std::string& field) {
  auto& c = at(field);
  if (c.type != kind::text || c.nullable)
    throw std::invalid_argument(descriptor_->full_name() + "." + field + ": the etag must be a plain string");
  c.part = role::etag;
  return *this;
}

model& model::required(const std::string& field) {
  at(field).required = true;
  return *this;
}

model& model::length(const std::string& field, int64_t min, int64_t max) {
  auto& c = at(field);
  if (c.type != kind::text)
    throw std::invalid_argument(descriptor_->full_name() + "." + field + ": length applies to strings");
  c.min_length = min;
  c.max_length = max;
  return *this;
}

model& model::range(const std::string& field, int64_t min, int64_t max) {
  auto& c = at(field);
  if (c.type != kind::integer)
    throw std::invalid_argument(descriptor_->full_name() + "." + field + ": range applies to integers");
  c.min_value = min;
  c.max_value = max;
  return *this;
}

model& model::unique(const std::string& field) {
  at(field).unique = true;
  return *this;
}

model& model::sortable(std::initializer_list<std::string> fields) {
  for (auto& f : fields) {
    auto& c = at(f);
    if (c.nullable)
      throw std::invalid_argument(descriptor_->full_name() + "." + f + ": a nullable field is not sortable");
    if (c.part == role::etag)
      throw std::invalid_argument(descriptor_->full_name() + "." + f + ": the etag is not sortable");
    c.sortable = true;
  }
  return *this;
}

model& model::filterable(std::initializer_list<std::string> fields) {
  for (auto& f : fields) {
    auto& c = at(f);
    if (c.part == role::etag)
      throw std::invalid_argument(descriptor_->full_name() + "." + f + ": the etag is not filterable");
    c.filterable = true;
  }
  return *this;
}

model& model::plural(std::string name) {
  plural_ = std::move(name);
  return *this;
}

const column& model::id_column() const {
  for (auto& c : columns_)
    if (c.part == role::id)
      return c;
  throw std::logic_error(descriptor_->full_name() + ": no id declared");
}

const column* model::update_time_column() const {
  for (auto& c : columns_)
    if (c.part == role::update_time)
      return &c;
  return nullptr;
}

const column* model::etag_column() const {
  for (auto& c : columns_)
    if (c.part == role::etag)
      return &c;
  return nullptr;
}

void model::validate_declaration() const {
  int ids = 0;
  for (auto& c : columns_)
    ids += c.part == role::id;
  if (ids != 1)
    throw std::invalid_argument("model " + descriptor_->full_name() + ": declare exactly one id field");
  bool plain_name = !table_.empty() && std::all_of(table_.begin(), table_.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  });
  if (!plain_name)
    throw std::invalid_argument("model " + descriptor_->full_name() + ": table name must be [a-z0-9_]+");
}

db::migration model::migration(int64_t version) const {
  validate_declaration();
  std::string sql = "CREATE TABLE IF NOT EXISTS troupe_model_ids (name TEXT PRIMARY KEY, last_id BIGINT NOT NULL);"
                    " INSERT INTO troupe_model_ids (name, last_id) VALUES ('" +
                    table_ + "', 0); CREATE TABLE " + table_ + " (";
  bool first = true;
  for (auto& c : columns_) {
    if (!first)
      sql += ", ";
    first = false;
    sql += c.name + " " + c.sql_type();
    if (c.part == role::id)
      sql += " PRIMARY KEY";
    else if (!c.nullable)
      sql += " NOT NULL";
    if (c.unique)
      sql += " UNIQUE";
  }
  sql += ")";
  return {version, sql};
}

void model::check_table(db::connection& c) const {
  struct found {
    std::string type;
    bool nullable;
  };
  std::map<std::string, found> cols;
  if (c.kind() == db::backend::postgresql) {
    c.query(
      "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
      " WHERE table_schema = current_schema() AND table_name = ?",
      table_, [&](const db::row& r) {
        auto [name, type, nullable] = r.as<std::string, std::string, std::string>();
        std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::toupper(ch); });
        cols[name] = {type, nullable == "YES"};
      });
  } else {
    c.query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)", table_, [&](const db::row& r) {
      auto [name, type, notnull, pk] = r.as<std::string, std::string, int64_t, int64_t>();
      std::transform(type.begin(), type.end(), type.begin(), [](unsigned char ch) { return std::toupper(ch); });
      cols[name] = {type, notnull == 0 && pk == 0};
    });
  }
  std::string what = "table " + table_ + " disagrees with " + descriptor_->full_name() + ": ";
  if (cols.empty())
    throw std::runtime_error("table " + table_ + " for " + descriptor_->full_name() +
                             " does not exist (add the model's migration)");
  for (auto& col : columns_) {
    auto i = cols.find(col.name);
    if (i == cols.end())
      throw std::runtime_error(what + "column " + col.name + " is missing");
    if (i->second.type != col.sql_type())
      throw std::runtime_error(what + "column " + col.name + " is " + i->second.type + ", not " + col.sql_type());
    if (col.part != role::id && i->second.nullable != col.nullable)
      throw std::runtime_error(what + "column " + col.name + (col.nullable ? " is NOT NULL" : " is nullable"));
    cols.erase(i);
  }
  if (!cols.empty())
    throw std::runtime_error(what + "column " + cols.begin()->first + " is not a field of the message");
}

void check_table_now(caf::actor_system& sys, const caf::actor& pool, const model& m) {
  caf::scoped_actor self{sys};
  std::optional<std::string> failed;
  auto work = db::make_job_function([&m, &failed](db::connection& c) {
    try {
      m.check_table(c);
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const db::failure*>(&e))
        throw;
      failed = e.what();
    }
    return 0;
  });
  self->request(pool, std::chrono::seconds(30), db::job{self.ptr(), db::clock::time_point::max(), work})
    .receive(
      [&](db::job_result& r) {
        if (r.error)
          failed = "checking table " + m.table() + ": " + db::to_string(*r.error);
      },
      [&](caf::error& e) { failed = "checking table " + m.table() + ": " + sys.render(e); });
  if (failed)
    throw std::runtime_error(*failed);
}

}  // namespace troupe::models
