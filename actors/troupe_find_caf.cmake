# The caf::core imported target; sets CAF_FOUND. CAF 0.17 ships neither a
# CMake config nor a pkg-config file, so Troupe's tree and troupeConfig.cmake
# (this file is installed next to it) both make the target from the header
# and the library. Each caller decides what a missing CAF means.
set(CAF_FOUND TRUE)
if(NOT TARGET caf::core)
  if(NOT TARGET Threads::Threads)
    find_package(Threads REQUIRED)
  endif()
  find_path(CAF_INCLUDE_DIR caf/all.hpp)
  find_library(CAF_CORE_LIBRARY caf_core)
  if(CAF_INCLUDE_DIR AND CAF_CORE_LIBRARY)
    add_library(caf::core UNKNOWN IMPORTED)
    set_target_properties(caf::core PROPERTIES
      IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  else()
    set(CAF_FOUND FALSE)
  endif()
endif()
