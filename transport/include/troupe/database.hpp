// Database errors as gRPC statuses, and a call's deadline as a job's.
#pragma once

#include <chrono>

#include "troupe/call.hpp"
#include "troupe/db/errors.hpp"
#include "troupe/db/job.hpp"
#include "troupe/status.hpp"

namespace troupe {

// not_found -> NOT_FOUND, already_exists -> ALREADY_EXISTS, constraint ->
// FAILED_PRECONDITION, invalid_argument -> INVALID_ARGUMENT, aborted ->
// ABORTED, busy and unavailable -> UNAVAILABLE, deadline -> DEADLINE_EXCEEDED,
// cancelled -> CANCELLED; internal -> INTERNAL with its text kept in the log.
status to_status(const db::error& e);

// The call's deadline on the clock database jobs use (max() when none).
db::clock::time_point job_deadline(const call& c);

}  // namespace troupe
