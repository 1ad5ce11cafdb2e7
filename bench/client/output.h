// A run's results for people (a table on stdout) and for scripts (JSON).
#pragma once

#include "runner.h"

#include <nlohmann/json.hpp>

#include <string>

namespace bench_client {

void print_table(const run_report& rep);

nlohmann::json to_json(const run_report& rep);

// Writes atomically (temporary file, then rename), so a reader never sees half a file.
bool write_json(const std::string& path, const nlohmann::json& doc);

// All kinds together.
kind_results total_of(const run_report& rep);

}  // namespace bench_client
