# Install rules: headers, the four libraries (plus the emulator's server adapter), the `shardgate`
# binary and its man page, the CMake package (shardgateConfig.cmake: `find_package(shardgate CONFIG)`,
# targets shardgate::gateway, ::emulator_core, ::observe, ::io, ::emulator, ::bridge) and shardgate.pc.
include(CMakePackageConfigHelpers)

set(SHARDGATE_CMAKE_INSTALL_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/shardgate")

install(TARGETS shardgate_gateway shardgate_emulator_core shardgate_observe shardgate_io
                shardgate_emulator shardgate_bridge
  EXPORT shardgateTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/shardgate"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev
  FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_BINARY_DIR}/include/shardgate/version.hpp"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/shardgate COMPONENT dev)

install(TARGETS shardgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
configure_file(docs/man/shardgate.1.in "${PROJECT_BINARY_DIR}/shardgate.1" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/shardgate.1"
  DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT runtime)

install(EXPORT shardgateTargets
  NAMESPACE shardgate::
  DESTINATION ${SHARDGATE_CMAKE_INSTALL_DIR} COMPONENT dev)
configure_package_config_file(cmake/templates/shardgateConfig.cmake.in
  "${PROJECT_BINARY_DIR}/shardgateConfig.cmake"
  INSTALL_DESTINATION ${SHARDGATE_CMAKE_INSTALL_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/shardgateConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion) # 0.x: a minor release may break the API
install(FILES "${PROJECT_BINARY_DIR}/shardgateConfig.cmake"
              "${PROJECT_BINARY_DIR}/shardgateConfigVersion.cmake"
  DESTINATION ${SHARDGATE_CMAKE_INSTALL_DIR} COMPONENT dev)

# pkg-config: shardgate.pc is what a bot links (io, observe, gateway); shardgate-emulator.pc adds the
# emulator. With static libraries, what they link privately goes in Libs, since pkg-config users rarely
# pass --static.
if(BUILD_SHARED_LIBS)
  set(SHARDGATE_PC_PRIVATE_FIELD "Libs.private:")
else()
  set(SHARDGATE_PC_PRIVATE_FIELD "Libs:")
endif()
file(RELATIVE_PATH SHARDGATE_PC_TO_PREFIX "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" SHARDGATE_PC_TO_PREFIX "${SHARDGATE_PC_TO_PREFIX}")
foreach(pc shardgate shardgate-emulator)
  configure_file("cmake/templates/${pc}.pc.in" "${PROJECT_BINARY_DIR}/${pc}.pc" @ONLY)
  install(FILES "${PROJECT_BINARY_DIR}/${pc}.pc"
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
endforeach()

# The installed binary and libraries find the shared shardgate libraries wherever the prefix is.
if(BUILD_SHARED_LIBS)
  file(RELATIVE_PATH shardgate_bin_to_lib "/${CMAKE_INSTALL_BINDIR}" "/${CMAKE_INSTALL_LIBDIR}")
  set_target_properties(shardgate PROPERTIES INSTALL_RPATH "$ORIGIN/${shardgate_bin_to_lib}")
  foreach(lib shardgate_gateway shardgate_emulator_core shardgate_observe shardgate_io shardgate_emulator
              shardgate_bridge)
    set_target_properties(${lib} PROPERTIES
      INSTALL_RPATH "$ORIGIN" # each finds the others it links beside it
      VERSION ${PROJECT_VERSION}
      SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  endforeach()
endif()
