# Every dependency comes from Debian 12 packages (see scripts/bootstrap).
find_package(simdjson REQUIRED CONFIG)
find_package(ZLIB REQUIRED)
find_package(zstd REQUIRED CONFIG)
find_package(CLI11 REQUIRED CONFIG)

if(TARGET zstd::libzstd_shared)
  set(SHARDGATE_ZSTD_TARGET zstd::libzstd_shared)
else()
  set(SHARDGATE_ZSTD_TARGET zstd::libzstd_static)
endif()

if(SHARDGATE_DEVELOPER_MODE)
  find_package(GTest REQUIRED CONFIG)
  find_package(benchmark REQUIRED CONFIG)
endif()
