#include "models_fixture.hpp"

#include "demo/demo.hpp"

namespace troupe::test {

using demo::v1::Book;

std::shared_ptr<const troupe::models::model> gadgets_model() {
  static const auto model = [] {
    auto m = std::make_shared<troupe::models::model>(modeltest::v1::Gadget::descriptor(), "gadgets");
    m->id("id").update_time("changed").etag("version")
      .required("name").length("name", 1, 20).unique("name")
      .range("price_cents", 0, 1'000'000)
      .sortable({"id", "name", "price_cents", "in_stock", "changed"})
      .filterable({"name", "price_cents", "in_stock", "color", "note", "rating", "weight_grams", "changed"});
    return std::shared_ptr<const troupe::models::model>(m);
  }();
  return model;
}

void models_app::SetUp() {
  backend_test::SetUp();
  if (IsSkipped())
    return;
  auto schema = troupe::services::demo_schema();
  schema.push_back(gadgets_model()->migration(900));
  pool_.emplace(start(config(4, 256), schema));
  server_ = std::make_unique<troupe::server>(sys(), local_config());
  server_->add(troupe::services::book_service(sys(), pool_->actor()));
  server_->add(troupe::services::book_controller(sys(), pool_->actor()));
  using namespace modeltest::v1;
  server_->add(troupe::models::aip_service<Gadget, CreateGadgetRequest, GetGadgetRequest, ListGadgetsRequest,
                                           ListGadgetsResponse, StreamGadgetsRequest, UpdateGadgetRequest,
                                           DeleteGadgetRequest>(sys(), pool_->actor(), gadgets_model()));
  server_->start();
  books_ = demo::v1::BookService::NewStub(channel());
  controller_ = demo::v1::BookController::NewStub(channel());
  gadgets_ = GadgetService::NewStub(channel());
}

void models_app::TearDown() {
  if (server_)
    server_->shutdown();
  server_.reset();
  pool_.reset();
  backend_test::TearDown();
}

std::shared_ptr<grpc::Channel> models_app::channel(int n) const {
  grpc::ChannelArguments args;
  args.SetInt("troupe.test.channel", n);
  return grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials(), args);
}

void models_app::bound(grpc::ClientContext& ctx) {
  ctx.set_deadline(std::chrono::system_clock::now() + troupe::db::testing::patience);
}

Book models_app::book(const std::string& isbn, const std::string& title, const std::string& author, int year,
                      demo::v1::Genre genre, std::optional<std::string> summary) {
  Book b;
  b.set_isbn(isbn);
  b.set_title(title);
  b.set_author(author);
  b.set_year(year);
  b.set_genre(genre);
  if (summary)
    b.set_summary(*summary);
  return b;
}

grpc::Status models_app::try_create(const Book& b, Book* out) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::CreateBookRequest req;
  *req.mutable_book() = b;
  Book got;
  auto st = books_->CreateBook(&ctx, req, &got);
  if (out)
    *out = got;
  return st;
}

Book models_app::create(const Book& b) {
  Book out;
  auto st = try_create(b, &out);
  EXPECT_TRUE(st.ok()) << st.error_message();
  return out;
}

grpc::Status models_app::get(int64_t id, Book* out) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::GetBookRequest req;
  req.set_id(id);
  return books_->GetBook(&ctx, req, out);
}

grpc::Status models_app::list(const demo::v1::ListBooksRequest& req, demo::v1::ListBooksResponse* out) {
  grpc::ClientContext ctx;
  bound(ctx);
  return books_->ListBooks(&ctx, req, out);
}

std::vector<Book> models_app::list_all(const std::string& filter, const std::string& order_by, int page_size) {
  std::vector<Book> all;
  demo::v1::ListBooksRequest req;
  req.set_filter(filter);
  req.set_order_by(order_by);
  req.set_page_size(page_size);
  for (int pages = 0; pages < 10'000; ++pages) {
    demo::v1::ListBooksResponse resp;
    auto st = list(req, &resp);
    EXPECT_TRUE(st.ok()) << filter << ": " << st.error_message();
    if (!st.ok())
      break;
    all.insert(all.end(), resp.books().begin(), resp.books().end());
    if (resp.next_page_token().empty())
      break;
    req.set_page_token(resp.next_page_token());
  }
  return all;
}

std::vector<int64_t> models_app::ids(const std::string& filter, const std::string& order_by) {
  std::vector<int64_t> out;
  for (auto& b : list_all(filter, order_by))
    out.push_back(b.id());
  return out;
}

grpc::Status models_app::update(const Book& b, const std::vector<std::string>& mask, Book* out, bool with_mask) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::UpdateBookRequest req;
  *req.mutable_book() = b;
  if (with_mask) {
    auto* m = req.mutable_update_mask();
    for (auto& p : mask)
      m->add_paths(p);
  }
  Book got;
  auto st = books_->UpdateBook(&ctx, req, &got);
  if (out)
    *out = got;
  return st;
}

grpc::Status models_app::remove(int64_t id, const std::string& etag, bool allow_missing) {
  grpc::ClientContext ctx;
  bound(ctx);
  demo::v1::DeleteBookRequest req;
  req.set_id(id);
  req.set_etag(etag);
  req.set_allow_missing(allow_missing);
  google::protobuf::Empty e;
  return books_->DeleteBook(&ctx, req, &e);
}

std::vector<int64_t> models_app::seed(int n) {
  auto r = submit(*pool_, [n](troupe::db::connection& c) {
    return c.transaction([&] {
      auto [last] = c.fetch_one<int64_t>("counter", "SELECT last_id FROM troupe_model_ids WHERE name = 'books'");
      std::vector<int64_t> made;
      for (int i = 0; i < n; ++i) {
        int64_t id = last + 1 + i;
        c.exec("INSERT INTO books (id, isbn, title, author, year, genre, summary, update_time, etag)"
               " VALUES (?, ?, ?, ?, ?, ?, NULL, ?, 1)",
               id, "seed-" + std::to_string(id), "title-" + std::to_string(i % 7), "author", 1900 + i % 50,
               1 + i % 4, int64_t{1'700'000'000'000'000} + i);
        made.push_back(id);
      }
      c.exec("UPDATE troupe_model_ids SET last_id = ? WHERE name = 'books'", last + n);
      return made;
    });
  });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : troupe::db::to_string(r.error()));
  return r.ok() ? *r : std::vector<int64_t>{};
}

int64_t models_app::count(const std::string& table, const std::string& where) {
  std::string sql = "SELECT count(*) FROM " + table + (where.empty() ? "" : " WHERE " + where);
  auto r = submit(*pool_, [sql](troupe::db::connection& c) {
    return std::get<0>(c.fetch_one<int64_t>("no count", sql));
  });
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : troupe::db::to_string(r.error()));
  return r.ok() ? *r : -1;
}

}  // namespace troupe::test
