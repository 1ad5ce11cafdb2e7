# What `cmake --install` puts under the prefix, the troupe::troupe target, the
# CMake package (find_package(troupe CONFIG)) and the .deb (make deb).
# Included by the top-level CMakeLists after every subdirectory, so that it
# sees all the targets.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The libraries a user's service links, and every library they link in turn
# (static libraries: their private dependencies are linked by the user too).
# A target missing here makes install(EXPORT) fail at configure time, naming it.
set(TROUPE_INSTALL_TARGETS
  troupe_config troupe_actors troupe_db troupe_transport troupe_services troupe_models troupe_app
  troupe_proto_health troupe_proto_reflection troupe_proto_bench)

# Link dependencies that are header-only and used only inside Troupe's own
# sources: for a static library CMake records them as $<LINK_ONLY:...>, which
# would make every user find them although they add nothing to the link.
set(TROUPE_BUILD_ONLY_DEPS CLI11::CLI11)

# troupe::troupe: what a service links, in the tree (add_subdirectory) and
# from the installed package alike.
add_library(troupe_framework INTERFACE)
add_library(troupe::troupe ALIAS troupe_framework)
set_target_properties(troupe_framework PROPERTIES EXPORT_NAME troupe)
target_link_libraries(troupe_framework INTERFACE troupe_app troupe_models)

# Each subdirectory names its include folders as plain paths, right for the
# build tree only. Here, once for all targets: a source folder ending in
# /include is a public header folder (its troupe/... tree is installed to
# <prefix>/include), other source and build folders (services/, generated
# proto headers) stay build-only.
set(troupe_header_dirs)
foreach(target IN LISTS TROUPE_INSTALL_TARGETS)
  get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
  if(NOT dirs)
    set(dirs)
  endif()
  set(wrapped)
  set(installs_headers FALSE)
  foreach(dir IN LISTS dirs)
    string(FIND "${dir}/" "${PROJECT_BINARY_DIR}/" in_build)
    string(FIND "${dir}/" "${PROJECT_SOURCE_DIR}/" in_source)
    if(dir MATCHES "^\\$<")
      list(APPEND wrapped "${dir}")  # already says where it applies
    elseif(in_build EQUAL 0)
      list(APPEND wrapped "$<BUILD_INTERFACE:${dir}>")  # generated headers
    elseif(in_source EQUAL 0)
      list(APPEND wrapped "$<BUILD_INTERFACE:${dir}>")
      if(dir MATCHES "/include$")
        list(APPEND troupe_header_dirs ${dir})
        set(installs_headers TRUE)
      endif()
    else()
      list(APPEND wrapped "${dir}")  # a system folder
    endif()
  endforeach()
  if(installs_headers)
    list(APPEND wrapped "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
  endif()
  set_property(TARGET ${target} PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${wrapped}")

  get_target_property(links ${target} INTERFACE_LINK_LIBRARIES)
  if(links)
    foreach(dep IN LISTS TROUPE_BUILD_ONLY_DEPS)
      list(TRANSFORM links REPLACE "^\\$<LINK_ONLY:${dep}>$" "$<BUILD_INTERFACE:$<LINK_ONLY:${dep}>>")
    endforeach()
    set_property(TARGET ${target} PROPERTY INTERFACE_LINK_LIBRARIES "${links}")
  endif()

  # troupe_config is exported as troupe::config, like its alias in the tree.
  string(REGEX REPLACE "^troupe_" "" export_name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
list(REMOVE_DUPLICATES troupe_header_dirs)
foreach(dir IN LISTS troupe_header_dirs)
  install(DIRECTORY ${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endforeach()

install(TARGETS ${TROUPE_INSTALL_TARGETS} troupe_framework EXPORT troupeTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS troupe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(troupe_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/troupe)
install(EXPORT troupeTargets NAMESPACE troupe:: DESTINATION ${troupe_cmake_dir})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/troupeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/troupeConfig.cmake INSTALL_DESTINATION ${troupe_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/troupeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/troupeConfig.cmake
  ${PROJECT_BINARY_DIR}/troupeConfigVersion.cmake
  ${PROJECT_SOURCE_DIR}/actors/troupe_find_caf.cmake
  ${PROJECT_SOURCE_DIR}/proto/troupe_add_proto.cmake
  DESTINATION ${troupe_cmake_dir})

# make deb: the same install tree as a Debian package rooted at /usr.
if(PROJECT_IS_TOP_LEVEL)
  set(CPACK_GENERATOR DEB)
  set(CPACK_PACKAGE_NAME troupe)
  set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
  set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Actor-model gRPC server and C++ framework (CAF + grpc++)")
  set(CPACK_PACKAGE_CONTACT "Troupe maintainers <troupe@invalid>")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # troupe_0.2.0_amd64.deb
  set(CPACK_DEBIAN_PACKAGE_SECTION devel)
  # The run-time libraries of the `troupe` binary, from dpkg-shlibdeps.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # Plus the -dev packages: the package holds headers, static libraries and a
  # CMake config, and a user's project compiling against them needs the
  # dependencies' headers, CMake files, protoc and grpc_cpp_plugin
  # (troupeConfig.cmake finds each of these; shlibdeps cannot see them).
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "cmake, libcaf-dev, libgrpc++-dev, libprotobuf-dev, protobuf-compiler, protobuf-compiler-grpc, libabsl-dev, libtomlplusplus-dev, libspdlog-dev, libsqlite3-dev, libpq-dev, libssl-dev")
  include(CPack)
endif()
