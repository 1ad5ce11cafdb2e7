// A server with demo.v1.BookService and modeltest.v1.GadgetService (both
// served by troupe::models) on a fresh database per test, once per backend.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include <troupe/models/model.hpp>

#include "db/support.hpp"
#include "demo/v1/books.grpc.pb.h"
#include "modeltest/v1/gadgets.grpc.pb.h"
#include "support/test_server.hpp"

namespace troupe::test {

// The second model: modeltest.v1.Gadget in the `gadgets` table.
std::shared_ptr<const troupe::models::model> gadgets_model();

class models_app : public troupe::db::testing::backend_test {
protected:
  void SetUp() override;
  void TearDown() override;

  std::shared_ptr<grpc::Channel> channel(int n = 0) const;
  static void bound(grpc::ClientContext& ctx);

  // A book with these fields (summary absent when nullopt).
  static demo::v1::Book book(const std::string& isbn, const std::string& title = "T", const std::string& author = "A",
                             int year = 2000, demo::v1::Genre genre = demo::v1::FICTION,
                             std::optional<std::string> summary = std::nullopt);
  grpc::Status try_create(const demo::v1::Book& b, demo::v1::Book* out = nullptr);
  demo::v1::Book create(const demo::v1::Book& b);  // fails the test when it fails
  grpc::Status get(int64_t id, demo::v1::Book* out);
  grpc::Status list(const demo::v1::ListBooksRequest& req, demo::v1::ListBooksResponse* out);
  // Every page of a listing; fails the test on an error.
  std::vector<demo::v1::Book> list_all(const std::string& filter, const std::string& order_by = "",
                                       int page_size = 0);
  std::vector<int64_t> ids(const std::string& filter, const std::string& order_by = "");
  grpc::Status update(const demo::v1::Book& b, const std::vector<std::string>& mask, demo::v1::Book* out = nullptr,
                      bool with_mask = true);
  grpc::Status remove(int64_t id, const std::string& etag = "", bool allow_missing = false);

  // `n` books inserted directly in one transaction: isbn "seed-<i>", year
  // 1900 + i % 50, title "title-<i % 7>"; returns their ids.
  std::vector<int64_t> seed(int n);
  int64_t count(const std::string& table, const std::string& where = "");

  std::optional<troupe::db::pool> pool_;
  std::unique_ptr<troupe::server> server_;
  std::unique_ptr<demo::v1::BookService::Stub> books_;
  std::unique_ptr<demo::v1::BookController::Stub> controller_;
  std::unique_ptr<modeltest::v1::GadgetService::Stub> gadgets_;
};

}  // namespace troupe::test
