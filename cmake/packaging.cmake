# `cpack -G DEB` (from the build directory): one Debian package with the binary, headers, libraries,
# the CMake package and shardgate.pc. dpkg-shlibdeps (dpkg-dev) derives Depends from what the binary and
# libraries link, so the package asks for exactly the Debian library packages it uses.
set(CPACK_PACKAGE_NAME shardgate)
set(CPACK_PACKAGE_VENDOR "shardgate")
set(CPACK_PACKAGE_CONTACT "shardgate maintainers <shardgate@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
# Headers include simdjson's; the static libraries need the -dev packages of what they link.
if(NOT BUILD_SHARED_LIBS)
  set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "libsimdjson-dev, libboost1.81-dev, libboost-json1.81-dev, zlib1g-dev, libzstd-dev, libssl-dev, libnats-dev")
endif()
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
include(CPack)
