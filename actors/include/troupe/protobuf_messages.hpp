// Lets any generated protobuf message travel in a CAF message, so handlers take
// `const Req&` (or `Req&`, moved without a copy) with no per-type registration.
// Serialised as the message's wire bytes.
#pragma once

#include <string>
#include <type_traits>

#include <caf/all.hpp>
#include <google/protobuf/message.h>

// Found by argument-dependent lookup through every message's base class.
namespace google::protobuf {

template <class Inspector, class T>
std::enable_if_t<std::is_base_of_v<Message, T>, typename Inspector::result_type>
inspect(Inspector& f, T& x) {
  if constexpr (Inspector::reads_state) {
    std::string bytes = x.SerializeAsString();
    return f(caf::meta::type_name("protobuf"), bytes);
  } else {
    std::string bytes;
    auto parse = caf::meta::load_callback([&]() -> caf::error {
      if (!x.ParseFromString(bytes))
        return caf::sec::invalid_argument;
      return caf::none;
    });
    return f(caf::meta::type_name("protobuf"), bytes, parse);
  }
}

}  // namespace google::protobuf
