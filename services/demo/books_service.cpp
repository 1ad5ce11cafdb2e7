// demo.v1.BookService: the whole service is the declaration below; the
// generic engine (troupe::models) does the rest.
#include "books_service.hpp"

#include "demo/v1/books.pb.h"

namespace troupe::services {

std::shared_ptr<const troupe::models::model> books_model() {
  static const auto model = [] {
    auto m = std::make_shared<troupe::models::model>(demo::v1::Book::descriptor(), "books");
    m->id("id").update_time("update_time").etag("etag")
      .required("isbn").length("isbn", 1, 32).unique("isbn")
      .required("title").length("title", 1, 200)
      .required("author").length("author", 1, 100)
      .range("year", 0, 3000)
      .length("summary", 0, 2000)
      .sortable({"id", "isbn", "title", "author", "year", "update_time"})
      .filterable({"isbn", "title", "author", "year", "genre", "summary", "update_time"});
    return std::shared_ptr<const troupe::models::model>(m);
  }();
  return model;
}

troupe::service book_service(caf::actor_system& sys, caf::actor pool) {
  using namespace demo::v1;
  return troupe::models::aip_service<Book, CreateBookRequest, GetBookRequest, ListBooksRequest, ListBooksResponse,
                                     StreamBooksRequest, UpdateBookRequest, DeleteBookRequest>(sys, std::move(pool),
                                                                                              books_model());
}

troupe::service book_controller(caf::actor_system& sys, caf::actor pool) {
  using namespace demo::v1;
  return troupe::models::dsg_service<BookRequest, BookResponse, BookListRequest, BookListResponse, BookStreamRequest,
                                     BookRetrieveRequest, BookPartialUpdateRequest, BookDestroyRequest>(
    sys, std::move(pool), books_model());
}

}  // namespace troupe::services
