# troupe_add_proto(<target> [ROOT <dir>] <file.proto>...)
# Makes a static library with the message classes and gRPC stubs of the
# files, generated into the calling folder's binary dir (never the sources).
# Files are named relative to ROOT (default: the calling CMakeLists' folder),
# which is also their import path.
#
# One definition for Troupe's own tree and for projects using an installed
# Troupe (this file is installed next to troupeConfig.cmake): both compile
# with CMake's protobuf::protoc and the grpc_cpp_plugin found on the machine,
# the same pair the libraries Troupe links were generated with on Debian.

# gRPC's CMake config has a gRPC::grpc_cpp_plugin target, but Debian's sets
# only IMPORTED_LOCATION_NONE, which no build type reads: look for the program.
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

function(troupe_add_proto target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "ROOT" "")
  if(NOT arg_ROOT)
    set(arg_ROOT ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  if(NOT arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "troupe_add_proto(${target}): no .proto files given")
  endif()
  # Imported targets are visible only in the folder that found them: under
  # add_subdirectory(troupe), Troupe's finds do not reach the caller's folder,
  # nor does find_package(troupe) in a sibling folder. Find them here, then.
  if(NOT TARGET protobuf::protoc OR NOT TARGET protobuf::libprotobuf)
    find_package(Protobuf REQUIRED)
  endif()
  if(NOT TARGET gRPC::grpc++)
    find_package(gRPC CONFIG REQUIRED)
  endif()
  set(srcs)
  foreach(rel IN LISTS arg_UNPARSED_ARGUMENTS)
    get_filename_component(dir ${rel} DIRECTORY)
    get_filename_component(stem ${rel} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${dir}/${stem})
    add_custom_command(
      OUTPUT ${out}.pb.cc ${out}.pb.h ${out}.grpc.pb.cc ${out}.grpc.pb.h
      COMMAND protobuf::protoc
        --proto_path=${arg_ROOT}
        --cpp_out=${CMAKE_CURRENT_BINARY_DIR}
        --grpc_out=${CMAKE_CURRENT_BINARY_DIR}
        --plugin=protoc-gen-grpc=${GRPC_CPP_PLUGIN}
        ${rel}
      DEPENDS ${arg_ROOT}/${rel}
      WORKING_DIRECTORY ${arg_ROOT}
      COMMENT "protoc ${rel}")
    list(APPEND srcs ${out}.pb.cc ${out}.grpc.pb.cc)
  endforeach()
  add_library(${target} STATIC ${srcs})
  # Build tree only: the generated headers are not installed (no public
  # Troupe header includes them; installed proto libraries are link-only).
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_BINARY_DIR}>)
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf gRPC::grpc++)
endfunction()
