// PostgreSQL values on the wire: parameters in libpq's form, result rows read
// from text format, and SQLSTATEs mapped to error codes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "troupe/db/errors.hpp"
#include "troupe/db/params.hpp"
#include "troupe/db/row.hpp"

namespace troupe::db {

// Text for everything but blobs, which are sent as binary; the server infers
// each parameter's type from the statement.
struct wire_params {
  std::vector<std::string> text;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;

  wire_params(const param* ps, size_t count);
};

// The single row of a PGRES_SINGLE_TUPLE result.
class pg_row final : public row {
public:
  explicit pg_row(const PGresult* res) : res_(res) {}

  size_t size() const override;
  bool is_null(size_t i) const override;

protected:
  int64_t get_int64(size_t i) const override;
  double get_double(size_t i) const override;
  bool get_bool(size_t i) const override;
  std::string_view get_text(size_t i) const override;
  blob get_blob(size_t i) const override;

private:
  static int col(size_t i) { return static_cast<int>(i); }

  const PGresult* res_;
};

// Errors after which the connection cannot be trusted: libpq's own (no
// SQLSTATE), connection exceptions and the server shutting down. A protocol
// violation (08P01) is reported on a connection that stays usable.
bool connection_lost(std::string_view sqlstate);

errc code_for_sqlstate(std::string_view sqlstate);

}  // namespace troupe::db
