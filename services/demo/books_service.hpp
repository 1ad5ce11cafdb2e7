#pragma once

#include <memory>

#include <troupe/models/dsg.hpp>
#include <troupe/models/model.hpp>
#include <troupe/service.hpp>

namespace troupe::services {

// The books model (proto/demo/v1/books.proto, ../shared/contracts/books.md):
// demo.v1.Book in the `books` table, with books.md's rules.
std::shared_ptr<const troupe::models::model> books_model();

// demo.v1.BookService (AIP standard methods) on the pool's database. Checks
// the books table at once: throws std::runtime_error when it disagrees.
troupe::service book_service(caf::actor_system& sys, caf::actor pool);

// demo.v1.BookController (django-socio-grpc's shape) over the same table.
troupe::service book_controller(caf::actor_system& sys, caf::actor pool);

}  // namespace troupe::services
