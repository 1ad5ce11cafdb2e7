// Model services: a protobuf message mapped to a table, served by one generic
// engine (descriptors and reflection, SQL with bound values only) on the
// database pool's workers. docs/models.md describes the declaration, the
// methods and their rules.
//
//   auto books = std::make_shared<troupe::models::model>(demo::v1::Book::descriptor(), "books");
//   books->id("id").update_time("update_time").etag("etag")
//     .required("isbn").length("isbn", 1, 32).unique("isbn")
//     .range("year", 0, 3000)
//     .sortable({"id", "isbn", "year", "update_time"})
//     .filterable({"isbn", "year", "genre", "summary", "update_time"});
//   app.migrations({books->migration(150)});
//   svc = troupe::models::aip_service<Book, CreateBookRequest, GetBookRequest, ListBooksRequest,
//                                     ListBooksResponse, StreamBooksRequest, UpdateBookRequest,
//                                     DeleteBookRequest>(ctx.system(), ctx.db(), books);
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/empty.pb.h>
#include <google/protobuf/message.h>

#include "troupe/db/connection.hpp"
#include "troupe/db/migration.hpp"
#include "troupe/service.hpp"
#include "troupe/status.hpp"

namespace troupe::models {

// How a field is stored. integer: the int/uint32/sint/fixed types, enums are
// `enumeration` (the number is stored); every one of them is a BIGINT column,
// bool a BOOLEAN, string a TEXT, google.protobuf.Timestamp a BIGINT of
// microseconds since the epoch (UTC).
enum class kind : uint8_t { integer, boolean, text, enumeration, timestamp };

enum class role : uint8_t { plain, id, update_time, etag };

struct column {
  std::string name;  // the field's name, and the column's
  const google::protobuf::FieldDescriptor* field = nullptr;
  kind type = kind::integer;
  role part = role::plain;
  bool nullable = false;  // proto3 `optional`: absent is NULL
  bool required = false;  // must not be the default value (strings: not empty)
  std::optional<int64_t> min_length, max_length;  // in code points of valid UTF-8
  std::optional<int64_t> min_value, max_value;
  bool unique = false;
  bool sortable = false;
  bool filterable = false;

  bool writable() const { return part == role::plain; }
  const char* sql_type() const;
};

// A stored value: NULL, an integer (bool as 0/1, timestamps in microseconds) or text.
using value = std::variant<std::monostate, int64_t, std::string>;

class model {
public:
  // Every field of `message` becomes a column. Throws std::invalid_argument
  // naming the field when one has a type the engine does not store.
  model(const google::protobuf::Descriptor* message, std::string table);

  // The output-only fields the engine fills: the int64 primary key (assigned
  // increasing), the Timestamp set on every write, the string etag.
  model& id(const std::string& field);
  model& update_time(const std::string& field);
  model& etag(const std::string& field);

  // Rules checked on every write (INVALID_ARGUMENT naming the field).
  model& required(const std::string& field);
  model& length(const std::string& field, int64_t min, int64_t max);
  model& range(const std::string& field, int64_t min, int64_t max);
  model& unique(const std::string& field);  // ALREADY_EXISTS on a duplicate

  // What order_by and filter may name (nullable fields are not sortable).
  model& sortable(std::initializer_list<std::string> fields);
  model& filterable(std::initializer_list<std::string> fields);

  // The plural used in method names (ListBooks): default name + "s".
  model& plural(std::string name);

  // The migration creating the table (and its row in troupe_model_ids, where
  // ids are counted): the same SQL on SQLite and PostgreSQL.
  db::migration migration(int64_t version) const;

  // Start-up check: throws std::runtime_error with one line when the table is
  // missing or disagrees with the message (a column missing, extra, of
  // another type or nullability).
  void check_table(db::connection& c) const;

  const google::protobuf::Descriptor* descriptor() const { return descriptor_; }
  const std::string& table() const { return table_; }
  const std::string& plural_name() const { return plural_; }
  const std::vector<column>& columns() const { return columns_; }
  const column* find(std::string_view name) const;
  const column& id_column() const;
  const column* update_time_column() const;
  const column* etag_column() const;

  // Checks the declaration once it is complete (called by the services).
  void validate_declaration() const;

private:
  column& at(const std::string& field);

  const google::protobuf::Descriptor* descriptor_;
  std::string table_;
  std::string plural_;
  std::vector<column> columns_;
};

// One generated SQL condition: text with `?` placeholders and their values.
struct sql_part {
  std::string sql;
  std::vector<value> params;
};

// The AIP-160 subset (docs/models.md) over `m`'s filterable fields, as a
// condition for `kind`'s SQL. Empty filter: empty sql. An error is
// INVALID_ARGUMENT with the reason.
result<sql_part> parse_filter(const model& m, std::string_view filter, db::backend kind);

// order_by ("year desc, title"): the sort keys, always ending with id.
struct sort_key {
  const column* col;
  bool desc;
};
result<std::vector<sort_key>> parse_order_by(const model& m, std::string_view order_by);

// Page tokens: the last row's sort key values and a hash of filter and
// order_by, sealed with HMAC-SHA256 under a key drawn at random once per
// process. decode fails (INVALID_ARGUMENT) on garbage, a broken seal, or a
// token made for another filter or order.
std::string encode_page_token(std::string_view filter, std::string_view order_by, const std::vector<value>& keys);
result<std::vector<value>> decode_page_token(std::string_view token, std::string_view filter,
                                             std::string_view order_by, const std::vector<sort_key>& order);

// The engine's methods over any message of a model; the services below bind
// them to generated request types. Each returns OK with `out` filled, or the status.
class engine {
public:
  explicit engine(std::shared_ptr<const model> m);
  const model& definition() const { return *m_; }

  status create(db::connection& c, const google::protobuf::Message& resource, google::protobuf::Message& out) const;
  status get(db::connection& c, int64_t id, google::protobuf::Message& out) const;
  // req: page_size, page_token, filter, order_by, include_total_size; resp: a
  // repeated field of the model's message, next_page_token, total_size.
  status list(db::connection& c, const google::protobuf::Message& req, google::protobuf::Message& resp) const;
  // req: filter, order_by, max_rows; `emit` sends `scratch` and returns false once the call is over.
  status stream(db::connection& c, const google::protobuf::Message& req, google::protobuf::Message& scratch,
                const std::function<bool()>& emit) const;
  // req: the model's message and a google.protobuf.FieldMask update_mask.
  status update(db::connection& c, const google::protobuf::Message& req, google::protobuf::Message& out) const;
  // req: id, etag, allow_missing.
  status remove(db::connection& c, const google::protobuf::Message& req) const;

  // The building blocks of the shapes: write `masked` columns of `resource`
  // to the row its id names (etag checked when set); delete a row.
  status write_columns(db::connection& c, const google::protobuf::Message& resource,
                       const std::vector<const column*>& masked, google::protobuf::Message& out) const;
  status remove_row(db::connection& c, int64_t id, const std::string& etag, bool allow_missing) const;
  // Rows matching a condition (sql_part, e.g. from parse_filter) in `order`,
  // at most `limit` (0: all) after skipping `offset`; `on_row` fills `scratch`
  // each time and returns false to stop.
  status select(db::connection& c, const sql_part& where, const std::vector<sort_key>& order, int64_t limit,
                int64_t offset, google::protobuf::Message& scratch, const std::function<bool()>& on_row) const;
  int64_t count(db::connection& c, const sql_part& where) const;

  // The model's message inside a request (the first field of its type).
  const google::protobuf::Message& resource_in(const google::protobuf::Message& req) const;

private:
  std::shared_ptr<const model> m_;
};

// Runs model::check_table on the pool now (at start-up); throws std::runtime_error.
void check_table_now(caf::actor_system& sys, const caf::actor& pool, const model& m);

// Google AIP standard methods (Create, Get, List, Stream, Update, Delete +
// the model's name or plural) as `service_name` (default: the package of the
// message + "." + name + "Service").
template <class Resource, class CreateReq, class GetReq, class ListReq, class ListResp, class StreamReq,
          class UpdateReq, class DeleteReq>
troupe::service aip_service(caf::actor_system& sys, caf::actor pool, std::shared_ptr<const model> m,
                            std::string service_name = "") {
  m->validate_declaration();
  check_table_now(sys, pool, *m);
  auto e = std::make_shared<const engine>(m);
  const auto* d = m->descriptor();
  if (service_name.empty())
    service_name = d->file()->package() + "." + d->name() + "Service";
  troupe::service svc{service_name};
  using conn = db::connection;
  svc.unary<CreateReq, Resource>(
    "Create" + d->name(), troupe::blocking(pool, [e](call&, const CreateReq& r, conn& c) -> result<Resource> {
      Resource out;
      auto st = e->create(c, e->resource_in(r), out);
      return st.ok() ? result<Resource>(std::move(out)) : result<Resource>(st);
    }));
  svc.unary<GetReq, Resource>(
    "Get" + d->name(), troupe::blocking(pool, [e](call&, const GetReq& r, conn& c) -> result<Resource> {
      Resource out;
      auto st = e->get(c, r.id(), out);
      return st.ok() ? result<Resource>(std::move(out)) : result<Resource>(st);
    }));
  svc.unary<ListReq, ListResp>(
    "List" + m->plural_name(), troupe::blocking(pool, [e](call&, const ListReq& r, conn& c) -> result<ListResp> {
      ListResp out;
      auto st = e->list(c, r, out);
      return st.ok() ? result<ListResp>(std::move(out)) : result<ListResp>(st);
    }));
  svc.server_stream<StreamReq, Resource>(
    "Stream" + m->plural_name(),
    troupe::blocking(pool, [e](call&, const StreamReq& r, conn& c, writer<Resource>& w) -> status {
      Resource scratch;
      return e->stream(c, r, scratch, [&] { return w.write(scratch); });
    }));
  svc.unary<UpdateReq, Resource>(
    "Update" + d->name(), troupe::blocking(pool, [e](call&, const UpdateReq& r, conn& c) -> result<Resource> {
      Resource out;
      auto st = e->update(c, r, out);
      return st.ok() ? result<Resource>(std::move(out)) : result<Resource>(st);
    }));
  svc.unary<DeleteReq, google::protobuf::Empty>(
    "Delete" + d->name(),
    troupe::blocking(pool, [e](call&, const DeleteReq& r, conn& c) -> result<google::protobuf::Empty> {
      auto st = e->remove(c, r);
      return st.ok() ? result<google::protobuf::Empty>(google::protobuf::Empty{})
                     : result<google::protobuf::Empty>(st);
    }));
  return svc;
}

}  // namespace troupe::models
