# Warnings live on an internal INTERFACE target linked PRIVATE, so they apply to our own sources only and
# never leak into consumers of the library.
add_library(shardgate_warnings INTERFACE)
target_compile_options(shardgate_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wold-style-cast
  -Wnon-virtual-dtor -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough -Wextra-semi)
if(SHARDGATE_WARNINGS_AS_ERRORS)
  target_compile_options(shardgate_warnings INTERFACE -Werror)
endif()
