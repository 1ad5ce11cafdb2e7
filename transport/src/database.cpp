#include "troupe/database.hpp"

#include <spdlog/spdlog.h>

namespace troupe {

status to_status(const db::error& e) {
  switch (e.code) {
    case db::errc::not_found:
      return {status_code::NOT_FOUND, e.message};
    case db::errc::already_exists:
      return {status_code::ALREADY_EXISTS, e.message};
    case db::errc::constraint:
      return {status_code::FAILED_PRECONDITION, e.message};
    case db::errc::invalid_argument:
      return {status_code::INVALID_ARGUMENT, e.message};
    case db::errc::aborted:
      return {status_code::ABORTED, e.message};
    case db::errc::busy:
      return {status_code::UNAVAILABLE, "database busy: " + e.message};
    case db::errc::unavailable:
      return {status_code::UNAVAILABLE, "database unavailable"};
    case db::errc::deadline:
      return {status_code::DEADLINE_EXCEEDED, "database work ran past the deadline"};
    case db::errc::cancelled:
      return {status_code::CANCELLED, "cancelled"};
    case db::errc::internal:
      break;
  }
  spdlog::error("database: {}", db::to_string(e));
  return {status_code::INTERNAL, "internal error"};
}

db::clock::time_point job_deadline(const call& c) {
  auto deadline = c.deadline();
  if (deadline == std::chrono::system_clock::time_point::max())
    return db::clock::time_point::max();
  auto left = deadline - std::chrono::system_clock::now();
  return db::clock::now() + std::chrono::duration_cast<db::clock::duration>(left);
}

}  // namespace troupe
