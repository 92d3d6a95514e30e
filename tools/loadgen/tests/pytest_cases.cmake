# ebsp_pytest_cases(PREFIX FILE CASES c... ENV k=v... LABELS l...): one ctest
# entry PREFIX.<c> per case, running `pytest FILE -k test_<c>` with ENV set,
# so that each case passes, fails and times out on its own. Shared by the
# smoke tests of the load tools and of ebsp-status.
include_guard(GLOBAL)

function(ebsp_pytest_cases prefix file)
  cmake_parse_arguments(arg "" "" "CASES;ENV;LABELS" ${ARGN})
  foreach(case ${arg_CASES})
    add_test(NAME ${prefix}.${case}
             COMMAND ${PYTHON3_DEBIAN} -m pytest -q -p no:cacheprovider ${file}
                     -k "test_${case}")
    set_tests_properties(${prefix}.${case} PROPERTIES
      ENVIRONMENT "${arg_ENV}" LABELS "${arg_LABELS}" TIMEOUT 120)
  endforeach()
endfunction()
