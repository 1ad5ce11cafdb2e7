// django-socio-grpc's shape on the engine: request and response messages
// mapped to the model's message by field name, Struct filters, page/page_size.
#include <algorithm>
#include <cmath>
#include <map>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include "detail.hpp"
#include "troupe/models/dsg.hpp"

namespace troupe::models {

namespace pb = google::protobuf;

namespace {

const pb::FieldDescriptor* field_of(const pb::Message& m, const std::string& name) {
  return m.GetDescriptor()->FindFieldByName(name);
}

// Copies a field between messages whose fields have the same name and C++ type.
void copy_field(const pb::Message& from, const pb::FieldDescriptor* ff, pb::Message& to,
                const pb::FieldDescriptor* tf) {
  const auto* fr = from.GetReflection();
  const auto* tr = to.GetReflection();
  if (ff->has_presence() && !fr->HasField(from, ff)) {
    tr->ClearField(&to, tf);
    return;
  }
  switch (ff->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32:
      tr->SetInt32(&to, tf, fr->GetInt32(from, ff));
      break;
    case pb::FieldDescriptor::CPPTYPE_INT64:
      tr->SetInt64(&to, tf, fr->GetInt64(from, ff));
      break;
    case pb::FieldDescriptor::CPPTYPE_UINT32:
      tr->SetUInt32(&to, tf, fr->GetUInt32(from, ff));
      break;
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      tr->SetBool(&to, tf, fr->GetBool(from, ff));
      break;
    case pb::FieldDescriptor::CPPTYPE_STRING:
      tr->SetString(&to, tf, fr->GetString(from, ff));
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM:
      tr->SetEnumValue(&to, tf, fr->GetEnumValue(from, ff));
      break;
    default:
      break;
  }
}

bool same_kind(const pb::FieldDescriptor* a, const pb::FieldDescriptor* b) {
  return a->cpp_type() == b->cpp_type() && !a->is_repeated() && !b->is_repeated() &&
         a->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE;
}

// The model's columns as `out` (a DSG response) has them.
void copy_out(const model& m, const pb::Message& resource, pb::Message& out) {
  out.Clear();
  for (auto& c : m.columns()) {
    const auto* tf = field_of(out, c.name);
    if (!tf)
      continue;
    if (c.type == kind::timestamp) {
      if (tf->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING && !tf->is_repeated()) {
        pb::Timestamp ts;
        ts.ParseFromString(resource.GetReflection()->GetMessage(resource, c.field).SerializeAsString());
        out.GetReflection()->SetString(&out, tf, pb::util::TimeUtil::ToString(ts));
      }
      continue;
    }
    if (same_kind(c.field, tf))
      copy_field(resource, c.field, out, tf);
  }
}

// The writable fields (and the id) of a DSG request into the model's message.
void copy_in(const model& m, const pb::Message& req, pb::Message& resource) {
  for (auto& c : m.columns()) {
    if (!c.writable() && c.part != role::id)
      continue;
    const auto* ff = field_of(req, c.name);
    if (ff && same_kind(ff, c.field))
      copy_field(req, ff, resource, c.field);
  }
}

std::optional<pb::Struct> struct_of(const call& k, const pb::Message& req, const char* field, const char* header,
                                    status& error) {
  if (const auto* f = field_of(req, field); f && req.GetReflection()->HasField(req, f)) {
    pb::Struct s;
    s.ParseFromString(req.GetReflection()->GetMessage(req, f).SerializeAsString());
    return s;
  }
  auto md = k.metadata(header);
  if (!md)
    return std::nullopt;
  pb::Struct s;
  if (!pb::util::JsonStringToMessage(std::string(*md), &s).ok())
    error = invalid_argument(std::string(header) + " metadata: not a JSON object");
  return s;
}

std::optional<int64_t> integral(const pb::Value& v) {
  if (v.kind_case() != pb::Value::kNumberValue)
    return std::nullopt;
  double d = v.number_value();
  if (!std::isfinite(d) || std::floor(d) != d || std::fabs(d) > 9.0e15)
    return std::nullopt;
  return static_cast<int64_t>(d);
}

// `_filters`: equality on filterable fields, and `ordering`.
status filters_sql(const model& m, db::backend kind, const pb::Struct& filters, sql_part& where,
                   std::vector<sort_key>& order) {
  std::map<std::string, const pb::Value*> sorted;
  for (auto& [key, v] : filters.fields())
    sorted[key] = &v;
  std::string order_by;
  for (auto& [key, v] : sorted) {
    if (key == "ordering") {
      if (v->kind_case() != pb::Value::kStringValue)
        return invalid_argument("_filters: ordering must be a string");
      std::string item;
      std::string text = v->string_value() + ",";
      for (char ch : text) {
        if (ch != ',') {
          if (ch != ' ')
            item += ch;
          continue;
        }
        if (item.empty())
          return invalid_argument("_filters: ordering has an empty item");
        bool desc = item[0] == '-';
        order_by += (order_by.empty() ? "" : ",") + (desc ? item.substr(1) + " desc" : item);
        item.clear();
      }
      continue;
    }
    const column* col = m.find(key);
    if (!col || !col->filterable || col->type == kind::timestamp)
      return invalid_argument("_filters: unknown key " + key);
    std::string cond;
    if (v->kind_case() == pb::Value::kNullValue) {
      if (!col->nullable)
        return invalid_argument("_filters: " + key + " is never null");
      cond = col->name + " IS NULL";
    } else if (col->type == kind::text && v->kind_case() == pb::Value::kStringValue) {
      cond = col->name + " = ?";
      where.params.emplace_back(v->string_value());
    } else if (col->type == kind::integer && integral(*v)) {
      cond = col->name + " = ?";
      where.params.emplace_back(*integral(*v));
    } else if (col->type == kind::boolean && v->kind_case() == pb::Value::kBoolValue) {
      cond = col->name + " = ?";
      where.params.emplace_back(int64_t{v->bool_value()});
    } else if (col->type == kind::enumeration && v->kind_case() == pb::Value::kStringValue) {
      const auto* ev = col->field->enum_type()->FindValueByName(v->string_value());
      if (!ev)
        return invalid_argument("_filters: " + key + ": " + v->string_value() + " is not a " +
                                col->field->enum_type()->name());
      cond = col->name + " = ?";
      where.params.emplace_back(int64_t{ev->number()});
    } else {
      return invalid_argument("_filters: " + key + " has a value of the wrong type");
    }
    where.sql += (where.sql.empty() ? "" : " AND ") + cond;
  }
  (void)kind;
  auto keys = parse_order_by(m, order_by);
  if (!keys.ok())
    return invalid_argument("_filters: ordering: " + keys.error().error_message());
  order = std::move(*keys);
  return status::OK;
}

}  // namespace

dsg_engine::dsg_engine(std::shared_ptr<const model> m) : m_(m), e_(m) {}

std::unique_ptr<pb::Message> dsg_engine::blank() const {
  return std::unique_ptr<pb::Message>(pb::MessageFactory::generated_factory()->GetPrototype(m_->descriptor())->New());
}

status dsg_engine::create(db::connection& c, const pb::Message& req, pb::Message& resp) const {
  auto in = blank();
  copy_in(*m_, req, *in);
  auto out = blank();
  auto st = e_.create(c, *in, *out);
  if (st.ok())
    copy_out(*m_, *out, resp);
  return st;
}

status dsg_engine::retrieve(db::connection& c, int64_t id, pb::Message& resp) const {
  auto out = blank();
  auto st = e_.get(c, id, *out);
  if (st.ok())
    copy_out(*m_, *out, resp);
  return st;
}

status dsg_engine::write(db::connection& c, const pb::Message& req, const std::vector<const column*>& masked,
                         pb::Message& resp) const {
  auto in = blank();
  copy_in(*m_, req, *in);
  auto out = blank();
  auto st = e_.write_columns(c, *in, masked, *out);
  if (st.ok())
    copy_out(*m_, *out, resp);
  return st;
}

status dsg_engine::update(db::connection& c, const pb::Message& req, pb::Message& resp) const {
  std::vector<const column*> all;
  for (auto& col : m_->columns())
    if (col.writable())
      all.push_back(&col);
  return write(c, req, all, resp);
}

status dsg_engine::partial_update(db::connection& c, const pb::Message& req, pb::Message& resp) const {
  const auto* f = field_of(req, "_partial_update_fields");
  if (!f || !f->is_repeated())
    throw std::logic_error(req.GetDescriptor()->full_name() + " has no repeated _partial_update_fields");
  const auto* r = req.GetReflection();
  int n = r->FieldSize(req, f);
  if (n == 0)
    return invalid_argument("_partial_update_fields: name the fields to change");
  std::vector<const column*> masked;
  for (int i = 0; i < n; ++i) {
    std::string name = r->GetRepeatedString(req, f, i);
    const column* col = m_->find(name);
    if (!col || !col->writable())
      return invalid_argument("_partial_update_fields: " + name + " is not a writable field");
    if (std::find(masked.begin(), masked.end(), col) == masked.end())
      masked.push_back(col);
  }
  return write(c, req, masked, resp);
}

status dsg_engine::destroy(db::connection& c, int64_t id) const {
  return e_.remove_row(c, id, "", false);
}

status dsg_engine::list(db::connection& c, const call& k, const pb::Message& req, pb::Message& resp) const {
  status error = status::OK;
  auto filters = struct_of(k, req, "_filters", "filters", error);
  auto pagination = struct_of(k, req, "_pagination", "pagination", error);
  if (!error.ok())
    return error;
  sql_part where;
  std::vector<sort_key> order;
  auto st = filters_sql(*m_, c.kind(), filters.value_or(pb::Struct{}), where, order);
  if (!st.ok())
    return st;
  int64_t page = 1, page_size = 50;
  if (pagination) {
    for (auto& [key, v] : pagination->fields()) {
      auto n = integral(v);
      if (key != "page" && key != "page_size")
        return invalid_argument("_pagination: unknown key " + key);
      if (!n || *n < 1)
        return invalid_argument("_pagination: " + key + " must be a positive integer");
      (key == "page" ? page : page_size) = *n;
    }
  }
  page_size = std::min<int64_t>(page_size, 1000);
  int64_t total = e_.count(c, where);
  int64_t offset = (page - 1) * page_size;
  if (page > 1 && offset >= total)
    return not_found("_pagination: page " + std::to_string(page) + " is past the last");
  const auto* rd = resp.GetDescriptor();
  const pb::FieldDescriptor* results = nullptr;
  for (int i = 0; i < rd->field_count(); ++i)
    if (rd->field(i)->is_repeated() && rd->field(i)->message_type())
      results = rd->field(i);
  if (!results)
    throw std::logic_error(rd->full_name() + " has no repeated results");
  const auto* rr = resp.GetReflection();
  auto scratch = blank();
  st = e_.select(c, where, order, page_size, offset, *scratch, [&] {
    copy_out(*m_, *scratch, *rr->AddMessage(&resp, results));
    return true;
  });
  if (!st.ok())
    return st;
  if (const auto* cf = field_of(resp, "count")) {
    if (cf->cpp_type() == pb::FieldDescriptor::CPPTYPE_INT32)
      rr->SetInt32(&resp, cf, static_cast<int32_t>(total));
    else
      rr->SetInt64(&resp, cf, total);
  }
  return status::OK;
}

status dsg_engine::stream(db::connection& c, const call& k, const pb::Message& req, pb::Message& scratch,
                          const std::function<bool()>& emit) const {
  status error = status::OK;
  auto filters = struct_of(k, req, "_filters", "filters", error);
  if (!error.ok())
    return error;
  sql_part where;
  std::vector<sort_key> order;
  auto st = filters_sql(*m_, c.kind(), filters.value_or(pb::Struct{}), where, order);
  if (!st.ok())
    return st;
  auto row = blank();
  return e_.select(c, where, order, 0, 0, *row, [&] {
    copy_out(*m_, *row, scratch);
    return emit();
  });
}

}  // namespace troupe::models
