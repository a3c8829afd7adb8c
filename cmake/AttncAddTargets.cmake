#===- AttncAddTargets.cmake - Thin helpers for attnc targets --------------===#

# attnc_add_lit_suite(NAME DIR): one CTest test that runs lit on a top-level
# test directory, so a CTest failure names the area.
function(attnc_add_lit_suite name dir)
  add_test(NAME ${name}
           COMMAND ${LIT_EXECUTABLE} -sv ${CMAKE_CURRENT_BINARY_DIR}/${dir})
endfunction()

# attnc_add_exceptions_library(NAME SOURCES...): a static library built with
# C++ exceptions (the ANTLR island). Never an add_mlir_* target: those force
# -fno-exceptions.
function(attnc_add_exceptions_library name)
  add_library(${name} STATIC ${ARGN})
  target_compile_options(${name} PRIVATE -fexceptions)
endfunction()
