// A new folder under /tmp for one test, removed with everything in it when
// this object goes. Declare it before whatever writes into it (servers,
// database pools, actor systems), so that it is destroyed after them.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace troupe::test {

class temp_folder {
public:
  // /tmp/<prefix>-XXXXXX
  explicit temp_folder(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr)
      throw std::runtime_error("cannot create " + tmpl);
    path_ = tmpl;
  }
  ~temp_folder() {
    std::error_code ec;  // a destructor must not throw; /tmp is cleaned anyway
    std::filesystem::remove_all(path_, ec);
  }
  temp_folder(const temp_folder&) = delete;
  temp_folder& operator=(const temp_folder&) = delete;

  const std::string& path() const { return path_; }
  // A path inside the folder.
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

}  // namespace troupe::test
