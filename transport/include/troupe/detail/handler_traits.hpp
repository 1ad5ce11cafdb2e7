// Which handle a behavior factory takes: the stateless default, or the
// stateful one its (non-generic) parameter names.
#pragma once

#include <type_traits>

namespace troupe {
class call_actor_handle;
}

namespace troupe::detail {

template <class Arg, class Default>
using handle_or_default =
  std::conditional_t<std::is_base_of_v<call_actor_handle, std::decay_t<Arg>>, std::decay_t<Arg>, Default>;

template <class Member, class Default>
struct handle_of_member {
  using type = Default;
};
template <class R, class C, class Arg, class Default>
struct handle_of_member<R (C::*)(Arg) const, Default> {
  using type = handle_or_default<Arg, Default>;
};
template <class R, class C, class Arg, class Default>
struct handle_of_member<R (C::*)(Arg), Default> {
  using type = handle_or_default<Arg, Default>;
};

// A lambda or function object with one call operator taking one argument.
// Generic lambdas (`[](auto self)`) have no such operator: Default.
template <class F, class Default, class = void>
struct handle_of {
  using type = Default;
};
template <class F, class Default>
struct handle_of<F, Default, std::void_t<decltype(&F::operator())>> {
  using type = typename handle_of_member<decltype(&F::operator()), Default>::type;
};
template <class R, class Arg, class Default>
struct handle_of<R (*)(Arg), Default, void> {
  using type = handle_or_default<Arg, Default>;
};

template <class F, class Default>
using handle_of_t = typename handle_of<F, Default>::type;

}  // namespace troupe::detail
