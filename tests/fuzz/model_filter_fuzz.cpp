// The models' AIP-160 filter parser (demo.v1.Book's fields) and order_by:
// never crashes, and what it accepts is SQL made of the model's column names,
// operators and `?` placeholders only — one bound value per placeholder, no
// byte of a literal in the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "demo/books_service.hpp"

namespace {

bool plain_sql(std::string sql) {
  for (size_t at; (at = sql.find(" COLLATE \"C\"")) != std::string::npos;)
    sql.erase(at, 12);
  for (char ch : sql) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == ' ' || ch == '(' || ch == ')' || ch == '?' || ch == '=' || ch == '!' || ch == '<' ||
              ch == '>' || ch == ',';
    if (!ok)
      return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& m = *troupe::services::books_model();
  for (auto kind : {troupe::db::backend::sqlite, troupe::db::backend::postgresql}) {
    auto f = troupe::models::parse_filter(m, text, kind);
    if (!f.ok()) {
      if (f.error().error_code() != grpc::StatusCode::INVALID_ARGUMENT)
        __builtin_trap();
      continue;
    }
    size_t marks = 0;
    for (char ch : f->sql)
      marks += ch == '?';
    if (marks != f->params.size() || !plain_sql(f->sql))
      __builtin_trap();
  }
  auto o = troupe::models::parse_order_by(m, text);
  if (o.ok() && (o->empty() || o->back().col->name != "id"))
    __builtin_trap();
  return 0;
}
