# Every dependency comes from Debian 12 packages (see scripts/bootstrap).
find_package(simdjson REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
find_package(zstd REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)
find_package(Threads REQUIRED)
find_package(OpenSSL REQUIRED)
# Debian 12 ships Boost 1.81 only under versioned package names; EXACT would reject "1.81.0".
find_package(Boost 1.81 REQUIRED CONFIG COMPONENTS json system)
# libnats (the NATS C client, for shardgate::bridge): Debian's CMake package for it names a static
# library it does not ship, so it is found through pkg-config.
find_package(PkgConfig REQUIRED)
pkg_check_modules(NATS REQUIRED IMPORTED_TARGET libnats)

if(TARGET zstd::libzstd_shared)
  set(SHARDGATE_ZSTD_TARGET zstd::libzstd_shared)
else()
  set(SHARDGATE_ZSTD_TARGET zstd::libzstd_static)
endif()

if(SHARDGATE_DEVELOPER_MODE)
  find_package(GTest REQUIRED CONFIG)
  find_package(benchmark REQUIRED CONFIG)
endif()
